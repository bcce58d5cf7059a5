"""Model sync between two libraries (two devices) through the real account service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from library_fixtures import add_stl, png_bytes

from studio.account.sync import HttpSyncTransport, SyncError, SyncReport, sync
from studio.library import Library
from studio.meshes.scene import MeshFormat
from tests.account_api.conftest import PASSWORD, make_settings
from tests.account_api.servers import FakeClock, ServiceThread

OBJ = (
    b"mtllib tetra.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\n"
    b"usemtl wood\nf 1 3 2\nf 1 2 4\nf 1 4 3\nf 2 3 4\n"
)
MTL = b"newmtl wood\nKd 0.8 0.6 0.4\nmap_Kd textures/wood.png\n"


class Account:
    """One account service (SQLite, local blobs) that can be stopped and started again on
    the same data, and the clients of the devices signed in to it."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.settings = make_settings(root, f"sqlite:///{root / 'account.sqlite3'}")
        self.clock = FakeClock()
        self.service: ServiceThread | None = ServiceThread(self.settings, self.clock).start()
        self.clients: list[httpx.Client] = []
        signup = httpx.post(
            f"{self.url}/v1/auth/signup",
            json={"email": "designer@example.com", "password": PASSWORD},
        )
        assert signup.status_code == 201, signup.text

    @property
    def url(self) -> str:
        assert self.service is not None
        return self.service.url

    def device(self) -> httpx.Client:
        """A client signed in as the designer (its own session, like another device)."""
        session = httpx.post(
            f"{self.url}/v1/auth/signin",
            json={"email": "designer@example.com", "password": PASSWORD},
        )
        assert session.status_code == 200, session.text
        client = httpx.Client(
            base_url=self.url,
            timeout=30,
            headers={"Authorization": f"Bearer {session.json()['access_token']}"},
        )
        self.clients.append(client)
        return client

    def stop(self) -> None:
        if self.service is not None:
            self.service.stop()
            self.service = None

    def restart(self) -> None:
        """Start again on the same data (a new port: the devices' clients follow it)."""
        self.stop()
        self.service = ServiceThread(self.settings, self.clock).start()
        for client in self.clients:
            client.base_url = httpx.URL(self.url)

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.stop()


class Device:
    def __init__(self, library: Library, http: httpx.Client) -> None:
        self.library = library
        self.transport = HttpSyncTransport(http)

    def sync(self) -> SyncReport:
        return sync(self.library, self.transport)


@pytest.fixture
def account(tmp_path: Path) -> Iterator[Account]:
    server = Account(tmp_path / "account")
    yield server
    server.close()


@pytest.fixture
def devices(tmp_path: Path, account: Account) -> Iterator[tuple[Device, Device]]:
    with (
        Library.open(tmp_path / "device1") as one,
        Library.open(tmp_path / "device2") as two,
    ):
        yield Device(one, account.device()), Device(two, account.device())


def make_model(library: Library, name: str = "Teapot") -> int:
    """A model with three versions, each with a thumbnail; version 2 is active.

    Version 3 is an OBJ with an MTL and a texture beside it."""
    first = add_stl(library, seed=1, name=name)
    model_id: int = first.model.id
    add_stl(library, model_id, seed=2)
    library.add_version(
        model_id,
        {"tetra.obj": OBJ, "tetra.mtl": MTL, "textures/wood.png": png_bytes((1, 2, 3))},
        main="tetra.obj",
        format=MeshFormat.OBJ,
        stats={"faces": 4},
        source={"kind": "import", "path": "/x/tetra.obj"},
    )
    for number, color in ((1, (255, 0, 0)), (2, (0, 255, 0)), (3, (0, 0, 255))):
        library.set_thumbnail(library.get_version(model_id, number).id, png_bytes(color))
    library.set_active_version(model_id, 2)
    return model_id


def state(library: Library) -> dict[str, Any]:
    """Everything that must agree across devices, by uid."""
    out: dict[str, Any] = {}
    for model in library.list_models():
        versions = library.versions(model.id)
        out[model.uid] = {
            "name": model.name,
            "active": next(v.uid for v in versions if v.is_active),
            "versions": {
                v.uid: (
                    v.number,
                    v.sha256,
                    v.filename,
                    v.format,
                    v.thumbnail_sha,
                    v.companions,
                    v.source,
                    v.stats,
                    v.created_at,
                )
                for v in versions
            },
        }
    return out


def assert_in_step(one: Device, two: Device) -> dict[str, Any]:
    assert one.library.check() == []
    assert two.library.check() == []
    assert state(one.library) == state(two.library)
    return state(one.library)


def by_uid(library: Library, model_uid: str) -> int:
    return next(m.id for m in library.list_models() if m.uid == model_uid)


def test_a_model_made_on_one_device_appears_on_the_other(
    devices: tuple[Device, Device],
) -> None:
    one, two = devices
    model_id = make_model(one.library)
    report = one.sync()
    assert report.pushed == 4 + 1  # the model, three versions, the active change
    assert report.conflicts == 0
    report = two.sync()
    assert report.pulled == 3
    synced = assert_in_step(one, two)
    model_uid = one.library.get_model(model_id).uid
    assert [n for n, *_ in synced[model_uid]["versions"].values()] == [3, 2, 1]
    there = by_uid(two.library, model_uid)
    assert two.library.active_version(there).number == 2
    for version in two.library.versions(there):
        assert two.library.thumbnail_path(version.id) is not None
    obj = two.library.get_version(there, 3)
    assert {c.relpath for c in obj.companions} == {"tetra.mtl", "textures/wood.png"}
    assert two.library.materialize(obj).read_bytes() == OBJ
    # Nothing left to do: syncing again changes nothing on either side.
    assert one.sync().pushed == 0
    again = two.sync()
    assert (again.pushed, again.pulled) == (0, 0)
    assert_in_step(one, two)


def test_active_changed_on_both_devices_offline_resolves_by_revision(
    devices: tuple[Device, Device],
) -> None:
    one, two = devices
    model_id = make_model(one.library)
    one.sync()
    two.sync()
    model_uid = one.library.get_model(model_id).uid
    there = by_uid(two.library, model_uid)
    # Both offline: device 1 rolls back to version 1, device 2 moves on to version 3.
    one.library.set_active_version(model_id, 1)
    two.library.set_active_version(there, 3)
    assert one.sync().conflicts == 0
    report = two.sync()
    assert report.conflicts == 1
    assert any("active version" in m for m in report.messages)
    one.sync()
    synced = assert_in_step(one, two)
    # The first to reach the service wins; every version is still on both devices.
    assert two.library.active_version(there).number == 1
    assert len(synced[model_uid]["versions"]) == 3


def test_versions_added_on_both_devices_offline_are_both_kept(
    devices: tuple[Device, Device],
) -> None:
    one, two = devices
    model_id = make_model(one.library)
    one.sync()
    two.sync()
    model_uid = one.library.get_model(model_id).uid
    there = by_uid(two.library, model_uid)
    mine = add_stl(one.library, model_id, seed=41).version
    theirs = add_stl(two.library, there, seed=42).version
    assert mine.number == theirs.number == 4
    one.sync()
    report = two.sync()
    assert report.conflicts >= 1
    one.sync()
    synced = assert_in_step(one, two)
    numbers = {uid: v[0] for uid, v in synced[model_uid]["versions"].items()}
    # The one published first keeps 4; the other moved to the next free number.
    assert numbers[mine.uid] == 4
    assert numbers[theirs.uid] == 5
    assert sorted(numbers.values()) == [1, 2, 3, 4, 5]
    # Numbers keep growing from there on both devices.
    assert add_stl(one.library, model_id, seed=43).version.number == 6


def test_deletions_propagate(devices: tuple[Device, Device]) -> None:
    one, two = devices
    model_id = make_model(one.library)
    other_id = add_stl(one.library, seed=9, name="Chair").model.id
    one.sync()
    two.sync()
    model_uid = one.library.get_model(model_id).uid
    chair_uid = one.library.get_model(other_id).uid
    gone = one.library.get_version(model_id, 1).uid
    one.library.delete_version(model_id, 1)
    two.library.delete_model(by_uid(two.library, chair_uid))
    # Deletes are soft (undoable) until the sweep; only then do they reach the account.
    one.library.sweep(grace=0)
    two.library.sweep(grace=0)
    one.sync()
    two.sync()
    one.sync()
    synced = assert_in_step(one, two)
    assert set(synced) == {model_uid}
    assert gone not in synced[model_uid]["versions"]
    # A deleted number is never given again.
    assert add_stl(two.library, by_uid(two.library, model_uid), seed=50).version.number == 4


def test_a_soft_deleted_version_stays_everywhere_until_the_sweep(
    devices: tuple[Device, Device],
) -> None:
    one, two = devices
    model_id = make_model(one.library)
    one.sync()
    two.sync()
    before = assert_in_step(one, two)
    model_uid = one.library.get_model(model_id).uid
    one.library.delete_version(model_id, 1)
    one.sync()
    two.sync()
    # Nothing left this device: the account and device 2 still have version 1.
    assert state(two.library) == before
    assert len(two.transport.get_model(model_uid).versions) == 3
    # Undo, sync: the same version with the same number everywhere, nothing renumbered.
    assert one.library.restore_version(model_id, 1).number == 1
    assert one.sync().conflicts == 0
    two.sync()
    assert assert_in_step(one, two) == before
    # Deleted again and swept: now the deletion reaches the account and device 2.
    gone = one.library.get_version(model_id, 1).uid
    one.library.delete_version(model_id, 1)
    one.library.sweep(grace=0)
    one.sync()
    two.sync()
    synced = assert_in_step(one, two)
    assert gone not in synced[model_uid]["versions"]
    assert sorted(n for n, *_ in synced[model_uid]["versions"].values()) == [2, 3]


def test_a_soft_deleted_model_can_be_undone_after_syncing(
    devices: tuple[Device, Device],
) -> None:
    one, two = devices
    model_id = make_model(one.library)
    one.sync()
    two.sync()
    model_uid = one.library.get_model(model_id).uid
    deletion = two.library.delete_model(by_uid(two.library, model_uid))
    two.sync()
    one.sync()
    assert [m.uid for m in one.library.list_models()] == [model_uid]
    assert two.library.list_models() == []
    # Meanwhile device 1 adds a version; device 2 takes it in, hidden with the model.
    added = add_stl(one.library, model_id, seed=31).version
    one.sync()
    two.sync()
    assert two.library.list_models() == []
    assert two.library.check() == []
    two.library.undo_delete(deletion)
    two.sync()
    one.sync()
    synced = assert_in_step(one, two)
    assert added.uid in synced[model_uid]["versions"]
    # Deleted and swept: gone on both.
    two.library.delete_model(by_uid(two.library, model_uid))
    two.library.sweep(grace=0)
    two.sync()
    one.sync()
    assert assert_in_step(one, two) == {}


def test_a_deleted_model_keeps_the_versions_the_account_never_saw(
    devices: tuple[Device, Device],
) -> None:
    one, two = devices
    model_id = make_model(one.library)
    one.sync()
    two.sync()
    model_uid = one.library.get_model(model_id).uid
    unseen = add_stl(one.library, model_id, seed=77).version  # offline on device 1
    two.library.delete_model(by_uid(two.library, model_uid))
    two.library.sweep(grace=0)
    two.sync()
    report = one.sync()
    assert report.conflicts == 1
    two.sync()
    synced = assert_in_step(one, two)
    assert model_uid not in synced
    [kept] = synced.values()
    assert list(kept["versions"]) == [unseen.uid]
    assert kept["active"] == unseen.uid


def test_a_generated_version_brings_its_input_images(devices: tuple[Device, Device]) -> None:
    one, two = devices
    image = one.library.store_bytes(png_bytes((9, 9, 9)), label="the input image")
    source = {"kind": "generation", "provider": "meshy", "prompt": "a teapot", "images": [image]}
    add_stl(one.library, seed=3, name="Generated", source=source)
    one.sync()
    two.sync()
    assert_in_step(one, two)
    assert two.library.blob_path(image).read_bytes() == png_bytes((9, 9, 9))


class StopsTheServer:
    """A transport that stops the account service after ``calls`` requests."""

    def __init__(self, inner: HttpSyncTransport, account: Account, calls: int) -> None:
        self.inner = inner
        self.account = account
        self.left = calls

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.left == 0:
                self.account.stop()
            self.left -= 1
            return method(*args, **kwargs)

        return call


@pytest.mark.parametrize(("calls", "pull_calls"), [(1, 1), (4, 3), (9, 6), (14, 8), (20, 10)])
def test_an_interrupted_sync_completes_on_the_next_run(
    devices: tuple[Device, Device], account: Account, calls: int, pull_calls: int
) -> None:
    """Device 1's push stops after ``calls`` requests, device 2's pull after ``pull_calls``."""
    one, two = devices
    model_id = make_model(one.library)
    add_stl(one.library, seed=5, name="Chair")
    with pytest.raises(SyncError):
        sync(one.library, StopsTheServer(one.transport, account, calls))
    assert one.library.check() == []
    account.restart()
    one.sync()
    with pytest.raises(SyncError):
        sync(two.library, StopsTheServer(two.transport, account, pull_calls))
    assert two.library.check() == []
    account.restart()
    two.sync()
    synced = assert_in_step(one, two)
    model_uid = one.library.get_model(model_id).uid
    assert len(synced) == 2
    assert len(synced[model_uid]["versions"]) == 3
    assert two.library.active_version(by_uid(two.library, model_uid)).number == 2
    # And nothing is left over.
    assert (one.sync().pushed, two.sync().pulled) == (0, 0)


def test_an_interrupted_sync_never_loses_a_version_made_meanwhile(
    devices: tuple[Device, Device], account: Account
) -> None:
    one, two = devices
    model_id = make_model(one.library)
    one.sync()
    two.sync()
    there = by_uid(two.library, one.library.get_model(model_id).uid)
    add_stl(two.library, there, seed=61)
    add_stl(one.library, model_id, seed=62)
    one.library.set_active_version(model_id, 1)
    with pytest.raises(SyncError):
        sync(one.library, StopsTheServer(one.transport, account, 3))
    account.restart()
    two.sync()
    one.sync()
    two.sync()
    synced = assert_in_step(one, two)
    [model] = synced.values()
    assert sorted(v[0] for v in model["versions"].values()) == [1, 2, 3, 4, 5]
