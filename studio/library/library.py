"""The :class:`Library` facade: models, their versions, and the files behind them.

One ``Library`` serves the GUI thread and worker threads at once: every call opens a
short session of its own, and writes take SQLite's write lock (``BEGIN IMMEDIATE``) so
the app and the command line can share a library folder.

Blob lifetime, the one subtle part
----------------------------------
A version row may only be committed once its blobs are in the store, and a blob may only be
deleted once no row names it. Both checks run *while holding the write lock*: a write checks
that its blobs still exist (storing them again if a concurrent sweep took them), and blob
deletion re-checks references under the lock. So no interleaving of threads or processes can
commit a row that points at a missing file.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Any, Self, TypeVar

from psygnal import Signal
from sqlalchemy import Select, delete, func, or_, select, text
from sqlalchemy.orm import Session, aliased

from studio import meshes
from studio.atomic import atomic_writer
from studio.library import generations
from studio.library.database import Database, is_disk_full, json_dict
from studio.library.errors import LibraryError
from studio.library.faults import BLOB_STORED, ROW_COMMITTED, crash_point
from studio.library.incoming import time_problem, version_problem
from studio.library.records import (
    FINISHED_STATUSES,
    ChangeKind,
    CompanionRecord,
    Deletion,
    GenerationRecord,
    ImportResult,
    LibraryChange,
    ModelRecord,
    VersionRecord,
)
from studio.library.schema import (
    Generation,
    GenerationImage,
    Model,
    SyncModel,
    SyncState,
    SyncVersion,
    Tag,
    Version,
    VersionFile,
    model_tags,
    utcnow,
)
from studio.library.store import (
    CHUNK_SIZE,
    BlobStore,
    StoredBlob,
    describe_os_error,
    is_sha256,
)
from studio.library.sync_state import CURSOR_KEY, LocalModel, ServerModelState, SyncSnapshot
from studio.meshes import Limits, MeshFormat, MeshStats, Scene
from studio.meshes.units import (
    DISPLAY_UNIT_OF,
    PLACEMENT_UNITS,
    UP_AXES,
    declared_obj_unit,
    placed_for,
    resolve_placement,
)
from studio.safe_paths import inside, relpath_problem
from studio.work import NEVER_CANCELLED, CancelToken, Progress, no_progress

log = logging.getLogger(__name__)

DATABASE_NAME = "library.sqlite3"
#: Temp files older than this are leftovers of a crash, whoever wrote them.
STALE_TEMP_AGE = 3600.0
MAX_NAME_LENGTH = 200
MAX_TAG_LENGTH = 100

_Row = TypeVar("_Row")

#: A file to store: a path on disk or bytes in memory.
FileSource = Path | bytes
#: How long a deleted model or version can be restored before :meth:`Library.sweep`
#: removes it for good (the default of its ``grace``), in seconds.
DELETE_GRACE = 3600.0


class Keep(enum.Enum):
    """The type of :data:`KEEP`: "leave this value as it is"."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True)
class _Written:
    """A committed write: what to announce and which blobs/cache folders may now be unused."""

    changes: tuple[LibraryChange, ...]
    released_shas: frozenset[str] = frozenset()
    released_uids: frozenset[str] = frozenset()


class Library:
    """The local library in one data folder. Use :meth:`open`, not the constructor.

    Attributes
    ----------
    changed
        Emits a :class:`~studio.library.records.LibraryChange` after every committed write,
        in the thread that wrote (a :class:`psygnal.SignalInstance`; connect, disconnect).
    data_dir
        The folder given to :meth:`open`.
    """

    changed = Signal(LibraryChange)

    def __init__(self, data_dir: Path, database: Database, store: BlobStore) -> None:
        self.data_dir = data_dir
        self.cache_dir = data_dir / "cache"
        self._db = database
        self._store = store
        self._closed = False

    # -- lifetime ------------------------------------------------------------------------

    @classmethod
    def open(cls, data_dir: Path) -> Library:
        """Open (creating if needed) the library in ``data_dir`` and bring its schema up to date.

        Raises
        ------
        LibraryError
            The folder can't be created or written, the database is damaged, or it was
            written by a newer version of the app.
        """
        data_dir = Path(data_dir)
        try:
            data_dir.mkdir(parents=True, exist_ok=True)
            store = BlobStore(data_dir)
            (data_dir / "cache").mkdir(exist_ok=True)
        except OSError as exc:
            raise LibraryError(
                f"The library folder “{data_dir}” cannot be created or written: "
                f"{exc.strerror or exc}."
            ) from exc
        database = Database(data_dir / DATABASE_NAME)
        try:
            database.migrate()
        except BaseException:
            database.dispose()
            raise
        library = cls(data_dir, database, store)
        # Crash leftovers; a running writer's temp files are young and have a live owner.
        library._sweep_temp(STALE_TEMP_AGE)
        try:
            library.purge_deleted()
        except BaseException:
            library.close()
            raise
        return library

    def close(self) -> None:
        """Release the database; the library can't be used afterwards."""
        if not self._closed:
            self._closed = True
            self._db.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def database_path(self) -> Path:
        return self._db.path

    # -- reading -------------------------------------------------------------------------

    def list_models(self, search: str | None = None) -> list[ModelRecord]:
        """Models, most recently updated first.

        Parameters
        ----------
        search
            Words that must each appear (ignoring case) in the model's name or in one of
            its tags. ``None`` or blank lists everything.
        """
        stmt = select(Model.id).where(Model.deleted_at.is_(None))
        for term in (search or "").casefold().split():
            tagged = (
                select(model_tags.c.model_id)
                .join(Tag, Tag.id == model_tags.c.tag_id)
                .where(func.instr(Tag.key, term) > 0)
            )
            stmt = stmt.where(
                or_(func.instr(func.kiln_casefold(Model.name), term) > 0, Model.id.in_(tagged))
            )
        with self._read() as session:
            return _model_records(session, stmt)

    def get_model(self, model_id: int) -> ModelRecord:
        """One model. Raises :class:`LibraryError` if there is none with this id."""
        with self._read() as session:
            records = _model_records(session, select(Model.id).where(Model.id == model_id))
        if not records:
            raise _no_model(model_id)
        return records[0]

    def versions(self, model_id: int) -> list[VersionRecord]:
        """A model's versions, newest (highest number) first."""
        with self._read() as session:
            model = _get_model(session, model_id)
            rows = session.scalars(
                select(Version)
                .where(Version.model_id == model_id, Version.deleted_at.is_(None))
                .order_by(Version.number.desc())
            ).all()
            return _version_records(session, rows, model.active_version_id)

    def get_version(self, model_id: int, number: int) -> VersionRecord:
        """Version ``number`` of a model."""
        with self._read() as session:
            model = _get_model(session, model_id)
            version = _get_version(session, model, number)
            return _version_records(session, [version], model.active_version_id)[0]

    def get_version_by_id(self, version_id: int) -> VersionRecord:
        """A version by its id (as thumbnails and jobs refer to versions)."""
        return self._version_record(version_id, deleted=False)

    def _version_record(self, version_id: int, *, deleted: bool) -> VersionRecord:
        with self._read() as session:
            version = _get_version_by_id(session, version_id, deleted=deleted)
            model = _get_model(session, version.model_id, deleted=deleted)
            return _version_records(session, [version], model.active_version_id)[0]

    def active_version(self, model_id: int) -> VersionRecord:
        """The model's active version."""
        with self._read() as session:
            model = _get_model(session, model_id)
            version = session.get_one(Version, model.active_version_id)
            return _version_records(session, [version], model.active_version_id)[0]

    def blob_path(self, sha256: str) -> Path:
        """Where a stored blob lives (read it; never write it)."""
        return self._store.path(sha256)

    def thumbnail_path(self, version_id: int) -> Path | None:
        """The version's PNG thumbnail, or None when it has none yet."""
        version = self.get_version_by_id(version_id)
        if version.thumbnail_sha is None:
            return None
        path = self._store.path(version.thumbnail_sha)
        return path if path.is_file() else None

    # -- adding versions -----------------------------------------------------------------

    def import_file(
        self,
        path: Path,
        *,
        model_id: int | None = None,
        name: str | None = None,
        scene: Scene | None = None,
        stats: MeshStats | None = None,
        limits: Limits | None = None,
        progress: Progress = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> ImportResult:
        """Import a model file as a new model, or as a new version of ``model_id``.

        The file is recognised by its bytes, loaded (unless ``scene`` is given) and measured
        (unless ``stats`` is given) *before* anything is stored, so a file that can't be
        opened leaves no trace. OBJ's MTL and textures and glTF's external files are stored
        with it. Importing the same files again returns the existing version
        (``created=False``).

        Parameters
        ----------
        path
            The file to import.
        model_id
            Add a version to this model; ``None`` makes a new model.
        name
            The new model's name (default: the file name without its extension).
        scene, stats
            Already loaded/measured (the UI opened the file first); saves doing it twice.
        limits
            Size limits for loading (default: the loader's).
        progress, cancel
            See :mod:`studio.work`.

        Raises
        ------
        studio.meshes.MeshFormatError
            The file is not a model we can open, or is damaged.
        LibraryError
            Unknown ``model_id``, unreadable file, full disk.
        """
        path = Path(path)
        if model_id is not None:
            self.get_model(model_id)  # fail before the slow part
        progress(0.0, "Reading file")
        sniffed = meshes.sniff(path)
        if scene is None:
            scene = meshes.load(
                path, limits=limits, progress=_scaled(progress, 0.0, 0.6), cancel=cancel
            )
        if stats is None:
            stats = meshes.compute_stats(scene, progress=_scaled(progress, 0.6, 0.8), cancel=cancel)
        cancel.raise_if_cancelled()
        stats_dict = stats.to_dict()
        if sniffed.format is MeshFormat.OBJ and stats_dict.get("unit") is None:
            # OBJ has no unit; some exporters declare one in a comment ("# File units =").
            stats_dict["unit"] = declared_obj_unit(path)
        files: dict[str, FileSource] = {path.name: path}
        notes = list(stats.notes)  # the load's notes and the measurement's
        if sniffed.note and sniffed.note not in notes:
            notes.append(sniffed.note)
        folder = path.parent.resolve()
        for companion in meshes.companion_files(path, sniffed.format):
            try:
                relpath = companion.resolve().relative_to(folder).as_posix()
            except ValueError:
                notes.append(f"“{companion.name}” is outside the model's folder and was left out.")
                continue
            files.setdefault(relpath, companion)
        source = {"kind": "import", "path": str(path.absolute()), "filename": path.name}
        return self.add_version(
            model_id,
            files,
            main=path.name,
            format=sniffed.format,
            stats=stats_dict,
            source=source,
            name=name if name is not None else path.stem[:MAX_NAME_LENGTH],
            notes=notes,
            progress=_scaled(progress, 0.8, 1.0),
            cancel=cancel,
        )

    def add_version(
        self,
        model_id: int | None,
        files: Mapping[str, FileSource],
        *,
        main: str,
        format: MeshFormat,
        stats: Mapping[str, Any],
        source: Mapping[str, Any],
        name: str | None = None,
        note: str = "",
        notes: Sequence[str] = (),
        generation_id: int | None = None,
        progress: Progress = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> ImportResult:
        """Store files as a new version (of a new model when ``model_id`` is None).

        The lower-level entry used by imports, generation jobs and repairs. The new version
        becomes the active one.

        Parameters
        ----------
        model_id
            The model to add to, or ``None`` for a new model named ``name``.
        files
            ``relative path -> file or bytes``: the main file and its companions, paths
            relative to the main file's folder with forward slashes ("textures/a.png").
        main
            The key of ``files`` that is the main file (a bare file name).
        format
            The main file's format.
        stats
            ``MeshStats.to_dict()`` of the main file.
        source
            Provenance, e.g. ``{"kind": "generation", "provider": ..., "prompt": ...,
            "task_id": ..., "images": [sha256, ...]}`` or ``{"kind": "repair",
            "from_version": 3}``. Blobs listed in ``images`` are kept by the sweep.
        name
            A new model's name.
        note
            The version's note.
        notes
            Remarks passed back in the result.
        generation_id
            The generation this version is the result of: its ``result_version_id`` is set
            in the same commit, so a job resumed after a crash can tell that its import
            already happened and never adds the result twice.

        Raises
        ------
        LibraryError
            Unknown model, unreadable file, full disk.
        """
        _check_files(files, main)
        if "kind" not in source:
            raise ValueError("a version's source needs a 'kind'")
        model_name = _clean_name(name if name is not None else PurePosixPath(main).stem)
        if model_id is not None:
            self.get_model(model_id)  # fail before copying anything
        stored: dict[str, StoredBlob] = {}
        try:
            total = sum(
                len(f) if isinstance(f, bytes) else _size_or_zero(f) for f in files.values()
            )
            done = 0
            for relpath, file in files.items():
                progress(done / total if total else 0.0, "Copying into the library")
                stored[relpath] = self._put(
                    file, relpath, cancel=cancel, progress=progress, done=done, total=total
                )
                done += stored[relpath].size
            with self._write() as session:
                self._ensure_stored(stored, files)
                if not all(self._store.exists(sha) for sha in _source_images(source)):
                    raise LibraryError(
                        "An input image of this version is no longer in the library folder. "
                        "Try again."
                    )
                result = self._commit_version(
                    session,
                    model_id,
                    stored,
                    main,
                    format,
                    dict(stats),
                    dict(source),
                    model_name,
                    note,
                    list(notes),
                )
                if generation_id is not None:
                    generation = generations.get(session, generation_id)
                    generation.result_version_id = result.version.id
                    generation.model_id = result.model.id
                    generation.updated_at = utcnow()
                crash_point(BLOB_STORED)
            crash_point(ROW_COMMITTED)
        except BaseException:
            # Nothing may stay behind: remove the blobs this call added, unless another
            # version (from another thread) has started using them meanwhile.
            self._release({s.sha256 for s in stored.values() if s.created})
            raise
        progress(1.0, "Stored")
        if result.created:
            kind: ChangeKind = "model-added" if model_id is None else "version-added"
            self.changed.emit(LibraryChange(kind, result.model.id))
        return result

    def _put(
        self,
        file: FileSource,
        relpath: str,
        *,
        cancel: CancelToken,
        progress: Progress,
        done: int,
        total: int,
    ) -> StoredBlob:
        if isinstance(file, bytes):
            return self._store.put_bytes(file, label=PurePosixPath(relpath).name)

        def on_bytes(n: int) -> None:
            if total:
                progress(min(1.0, (done + n) / total), "Copying into the library")

        return self._store.put_file(file, cancel=cancel, on_bytes=on_bytes)

    def _ensure_stored(
        self, stored: Mapping[str, StoredBlob], files: Mapping[str, FileSource]
    ) -> None:
        # Under the write lock: a concurrent sweep or delete may have taken a blob that
        # already existed when we stored ours. Store it again; nothing can take it now.
        for relpath, blob in stored.items():
            if not self._store.exists(blob.sha256):
                again = self._put(
                    files[relpath],
                    relpath,
                    cancel=NEVER_CANCELLED,
                    progress=no_progress,
                    done=0,
                    total=0,
                )
                if again.sha256 != blob.sha256:
                    raise LibraryError(
                        f"“{PurePosixPath(relpath).name}” changed while it was being imported. "
                        "Try again."
                    )

    def _commit_version(
        self,
        session: Session,
        model_id: int | None,
        stored: Mapping[str, StoredBlob],
        main: str,
        fmt: MeshFormat,
        stats: dict[str, Any],
        source: dict[str, Any],
        name: str,
        note: str,
        notes: list[str],
    ) -> ImportResult:
        main_blob = stored[main]
        companions = {(rel, blob.sha256) for rel, blob in stored.items() if rel != main}
        model = _get_model(session, model_id) if model_id is not None else None
        existing = _find_same_files(session, model_id, main_blob.sha256, companions)
        if existing is not None:
            owner = _get_model(session, existing.model_id)
            if model_id is None:
                notes.append(
                    f"“{main}” is already in the library as “{owner.name}”, "
                    f"version {existing.number}."
                )
            else:
                notes.append(f"“{main}” is already version {existing.number} of “{owner.name}”.")
            return ImportResult(
                model=_model_records(session, select(Model.id).where(Model.id == owner.id))[0],
                version=_version_records(session, [existing], owner.active_version_id)[0],
                created=False,
                notes=notes,
            )

        now = utcnow()
        if model is None:
            # The placeholder 0 never matches a version; the deferred key is checked at
            # commit, by which time it names the first version.
            model = Model(
                uid=uuid.uuid4().hex,
                name=name,
                notes="",
                created_at=now,
                updated_at=now,
                active_version_id=0,
                last_version_number=1,
            )
            session.add(model)
            session.flush()
            number = 1
        else:
            number = model.last_version_number + 1
            model.last_version_number = number
        version = Version(
            uid=uuid.uuid4().hex,
            model_id=model.id,
            number=number,
            sha256=main_blob.sha256,
            filename=PurePosixPath(main).name,
            format=fmt.value,
            file_size=main_blob.size,
            source=source,
            stats=stats,
            thumbnail_sha=None,
            note=note,
            created_at=now,
        )
        session.add(version)
        session.flush()
        session.add_all(
            VersionFile(version_id=version.id, relpath=rel, sha256=blob.sha256, file_size=blob.size)
            for rel, blob in stored.items()
            if rel != main
        )
        model.active_version_id = version.id
        model.updated_at = now
        session.flush()
        return ImportResult(
            model=_model_records(session, select(Model.id).where(Model.id == model.id))[0],
            version=_version_records(session, [version], version.id)[0],
            created=True,
            notes=notes,
        )

    def store_bytes(self, data: bytes, *, label: str = "a file") -> str:
        """Put bytes (an input image, say) into the store; returns their sha256.

        The blob is swept unless a version names it (as ``source["images"]``) by then.
        """
        self._check_open()
        return self._store.put_bytes(data, label=label).sha256

    # -- generations ----------------------------------------------------------------------

    def create_generation(
        self,
        *,
        provider: str,
        kind: str,
        quality: str,
        prompt: str = "",
        model_id: int | None = None,
        images: Sequence[tuple[str, Path]] = (),
        name: str = "",
    ) -> GenerationRecord:
        """Remember a generation before anything is sent; its pictures go into the store.

        ``images`` are ``(slot, path)``: slot "image", or "front"/"left"/"back"/"right".
        ``name`` is what the new model is to be called ("": named from the prompt).
        """
        stored: list[StoredBlob] = []
        try:
            rows = []
            for slot, path in images:
                blob = self._store.put_file(path, cancel=NEVER_CANCELLED, on_bytes=None)
                stored.append(blob)
                rows.append((slot, blob.sha256, path.name))
            with self._write() as session:
                self._ensure_stored(
                    {slot: blob for (slot, _), blob in zip(images, stored, strict=True)},
                    dict(images),
                )
                generation = generations.create(
                    session,
                    provider=provider,
                    kind=kind,
                    quality=quality,
                    prompt=prompt,
                    model_id=model_id,
                    images=rows,
                    name=name,
                )
                record = generations.records(session, [generation])[0]
        except BaseException:
            self._release({blob.sha256 for blob in stored if blob.created})
            raise
        self.changed.emit(LibraryChange("generation-changed", model_id))
        return record

    def update_generation(self, generation_id: int, **changes: Any) -> GenerationRecord:
        """Change a generation's state (status, task id, progress, error, credits...)."""
        with self._write() as session:
            generation = generations.get(session, generation_id)
            generations.update(session, generation, changes)
            record = generations.records(session, [generation])[0]
        self.changed.emit(LibraryChange("generation-changed", record.model_id))
        return record

    def get_generation(self, generation_id: int) -> GenerationRecord:
        with self._read() as session:
            return generations.records(session, [generations.get(session, generation_id)])[0]

    def generations(self, *, limit: int = 200) -> list[GenerationRecord]:
        """The newest generations first."""
        with self._read() as session:
            rows = session.scalars(
                select(Generation).order_by(Generation.id.desc()).limit(limit)
            ).all()
            return generations.records(session, rows)

    def generation_images(self, generation: GenerationRecord) -> dict[str, Path]:
        """The generation's input pictures as files under their own names, by slot.

        Hard links into the store (copies where links aren't possible) under
        ``cache/<generation uid>/``: a client can tell a PNG from a JPEG by its name.
        """
        self._check_open()
        folder = self.cache_dir / generation.uid
        folder.mkdir(parents=True, exist_ok=True)
        paths: dict[str, Path] = {}
        for image in generation.images:
            if not self._store.exists(image.sha256):
                raise LibraryError(
                    f"The picture “{image.filename}” of this generation is missing from the "
                    "library folder."
                )
            try:
                dest = inside(folder, f"{image.slot}-{_safe_filename(image.filename)}")
            except ValueError:
                raise LibraryError(
                    f"The picture “{image.filename}” of this generation has a name this "
                    "computer can't use for a file."
                ) from None
            if not dest.exists():
                staging = self._store.new_temp_path(suffix=dest.suffix)
                _link_or_copy(self._store.path(image.sha256), staging)
                os.replace(staging, dest)
            paths[image.slot] = dest
        return paths

    def unfinished_generations(self) -> list[GenerationRecord]:
        """Generations a restart must pick up again, oldest first."""
        with self._read() as session:
            rows = session.scalars(
                select(Generation)
                .where(Generation.status.not_in(FINISHED_STATUSES))
                .order_by(Generation.id)
            ).all()
            return generations.records(session, rows)

    # -- changing models and versions ----------------------------------------------------

    def set_active_version(self, model_id: int, number: int) -> VersionRecord:
        """Make version ``number`` the active one (a rollback when it is older)."""
        with self._write() as session:
            model = _get_model(session, model_id)
            version = _get_version(session, model, number)
            changed = model.active_version_id != version.id
            if changed:
                model.active_version_id = version.id
                model.updated_at = utcnow()
            record = _version_records(session, [version], version.id)[0]
        if changed:
            self.changed.emit(LibraryChange("active-changed", model_id))
        return record

    def delete_version(self, model_id: int, number: int) -> Deletion:
        """Delete one version; if it was active, the newest remaining one becomes active.

        The delete is soft: the version disappears from every query but keeps its row and
        files until :meth:`sweep` removes it for good (after its grace period), so
        :meth:`restore_version` (or :meth:`undo_delete`) can bring it back with its number.

        Raises
        ------
        LibraryError
            The model has only this version (delete the model instead), or no such version.
        """
        now = utcnow()
        with self._write() as session:
            model = _get_model(session, model_id)
            version = _get_version(session, model, number)
            remaining = session.scalars(
                select(Version)
                .where(
                    Version.model_id == model_id,
                    Version.id != version.id,
                    Version.deleted_at.is_(None),
                )
                .order_by(Version.number.desc())
                .limit(1)
            ).first()
            if remaining is None:
                raise LibraryError(
                    f"“{model.name}” has only this version. Delete the model instead."
                )
            version.deleted_at = now
            version.successor_id = None
            changes = [LibraryChange("version-deleted", model_id)]
            if model.active_version_id == version.id:
                model.active_version_id = remaining.id
                version.successor_id = remaining.id
                changes.append(LibraryChange("active-changed", model_id))
            model.updated_at = now
            session.flush()
            deletion = Deletion(
                model_id=model_id,
                model_uid=model.uid,
                name=model.name,
                number=number,
                version_uid=version.uid,
                deleted_at=now,
                model=_model_records(session, select(Model.id).where(Model.id == model_id))[0],
            )
        self._announce(changes)
        return deletion

    def delete_model(self, model_id: int) -> Deletion:
        """Delete a model with all its versions.

        Soft, like :meth:`delete_version`: :meth:`restore_model` brings it back (with its
        versions, tags and active version) until :meth:`sweep` removes it for good.
        """
        now = utcnow()
        with self._write() as session:
            model = _get_model(session, model_id)
            model.deleted_at = now
            deletion = Deletion(
                model_id=model_id,
                model_uid=model.uid,
                name=model.name,
                number=None,
                version_uid=None,
                deleted_at=now,
                model=None,
            )
        self._announce([LibraryChange("model-deleted", model_id)])
        return deletion

    def restore_version(self, model_id: int, number: int) -> VersionRecord:
        """Undo :meth:`delete_version`: the version comes back with its number.

        It becomes active again if it was active when deleted and the version that took
        over is still the active one (nobody chose another since). Restoring a version
        that is not deleted does nothing.

        Raises
        ------
        LibraryError
            The model is gone (restore the model first), or the version was removed for
            good by the sweep, or never existed.
        """

        def change(session: Session) -> _Written:
            model = _get_model(session, model_id)
            version = session.scalars(
                select(Version).where(Version.model_id == model_id, Version.number == number)
            ).first()
            if version is None:
                if 1 <= number <= model.last_version_number:
                    raise LibraryError(
                        f"Version {number} of “{model.name}” can no longer be restored: "
                        "it has been removed for good."
                    )
                raise LibraryError(f"“{model.name}” has no version {number}.")
            if version.deleted_at is None:
                return _Written(())
            version.deleted_at = None
            changes = [LibraryChange("version-restored", model_id)]
            if version.successor_id is not None and model.active_version_id == version.successor_id:
                model.active_version_id = version.id
                changes.append(LibraryChange("active-changed", model_id))
            version.successor_id = None
            model.updated_at = utcnow()
            return _Written(tuple(changes))

        self._apply(change)
        return self.get_version(model_id, number)

    def restore_model(self, model_id: int) -> ModelRecord:
        """Undo :meth:`delete_model`: the model comes back as it was.

        Raises
        ------
        LibraryError
            The sweep has removed it for good (or there never was such a model).
        """

        def change(session: Session) -> _Written:
            model = session.get(Model, model_id)
            if model is None:
                raise LibraryError(
                    f"Model {model_id} can no longer be restored: it has been removed for good."
                )
            if model.deleted_at is None:
                return _Written(())
            model.deleted_at = None
            model.updated_at = utcnow()
            return _Written((LibraryChange("model-restored", model_id),))

        self._apply(change)
        return self.get_model(model_id)

    def undo_delete(self, deletion: Deletion) -> ModelRecord:
        """Undo what :meth:`delete_version` or :meth:`delete_model` returned.

        Checks the uids too: a model id freed by the sweep may belong to another model.
        """
        with self._read() as session:
            model = session.get(Model, deletion.model_id)
            same = model is not None and model.uid == deletion.model_uid
        if not same:
            what = "“" + deletion.name + "”"
            if deletion.number is not None:
                what = f"Version {deletion.number} of {what}"
            raise LibraryError(f"{what} can no longer be restored: it has been removed for good.")
        if deletion.number is None:
            return self.restore_model(deletion.model_id)
        self.restore_version(deletion.model_id, deletion.number)
        return self.get_model(deletion.model_id)

    def set_version_placement(
        self,
        version_id: int,
        *,
        unit: str | Keep | None = KEEP,
        up_axis: str | Keep | None = KEEP,
    ) -> VersionRecord:
        """Say what a version's numbers mean and which axis is up.

        Parameters
        ----------
        unit
            "mm", "cm", "m" or "in"; ``None`` goes back to the format's default (or what
            the file declares). Left out: unchanged.
        up_axis
            "Y" or "Z"; ``None`` goes back to the format's default. Left out: unchanged.

        The file is not touched (no new version); dimensions, measuring and
        :meth:`export_version` follow the new values.
        """
        clean_unit = _clean_unit(unit)
        clean_up = _clean_up_axis(up_axis)

        def change(session: Session) -> _Written:
            version = _get_version_by_id(session, version_id)
            before = (version.unit, version.up_axis)
            if not isinstance(clean_unit, Keep):
                version.unit = clean_unit
            if not isinstance(clean_up, Keep):
                version.up_axis = clean_up
            if (version.unit, version.up_axis) == before:
                return _Written(())
            return _Written((LibraryChange("placement-changed", version.model_id),))

        self._apply(change)
        return self.get_version_by_id(version_id)

    def tags(self) -> list[str]:
        """Every tag a model in the library has, in alphabetical order (for completion)."""
        with self._read() as session:
            return list(
                session.scalars(
                    select(Tag.name)
                    .where(
                        Tag.id.in_(
                            select(model_tags.c.tag_id)
                            .join(Model, Model.id == model_tags.c.model_id)
                            .where(Model.deleted_at.is_(None))
                        )
                    )
                    .order_by(Tag.key)
                ).all()
            )

    def rename_model(self, model_id: int, name: str) -> ModelRecord:
        """Give a model a new name (not blank, at most 200 characters)."""
        clean = _clean_name(name)
        return self._change_model(model_id, lambda model: setattr(model, "name", clean))

    def set_notes(self, model_id: int, notes: str) -> ModelRecord:
        """Replace a model's notes."""
        return self._change_model(model_id, lambda model: setattr(model, "notes", notes))

    def set_tags(self, model_id: int, tags: Iterable[str]) -> ModelRecord:
        """Replace a model's tags. Tags are trimmed; case-insensitive duplicates are merged."""
        wanted: dict[str, str] = {}
        for raw in tags:
            tag = " ".join(raw.split())
            if not tag:
                continue
            if len(tag) > MAX_TAG_LENGTH:
                raise LibraryError(f"A tag can have at most {MAX_TAG_LENGTH} characters.")
            wanted.setdefault(tag.casefold(), tag)

        def change(session: Session) -> _Written:
            model = _get_model(session, model_id)
            old_ids = session.scalars(
                select(model_tags.c.tag_id).where(model_tags.c.model_id == model_id)
            ).all()
            session.execute(delete(model_tags).where(model_tags.c.model_id == model_id))
            for key, tag_name in wanted.items():
                tag = session.scalars(select(Tag).where(Tag.key == key)).first()
                if tag is None:
                    tag = Tag(name=tag_name, key=key)
                    session.add(tag)
                    session.flush()
                session.execute(model_tags.insert().values(model_id=model_id, tag_id=tag.id))
            _drop_unused_tags(session, old_ids)
            model.updated_at = utcnow()
            return _Written((LibraryChange("model-changed", model_id),))

        self._apply(change)
        return self.get_model(model_id)

    def set_version_note(self, version_id: int, note: str) -> VersionRecord:
        """Replace a version's note (the only thing about a version that can change)."""

        def change(session: Session) -> _Written:
            version = _get_version_by_id(session, version_id)
            version.note = note
            return _Written((LibraryChange("model-changed", version.model_id),))

        self._apply(change)
        return self.get_version_by_id(version_id)

    def set_thumbnail(self, version_id: int, png: bytes) -> VersionRecord:
        """Store a PNG as the version's thumbnail (replacing any previous one).

        A version deleted meanwhile (softly) still gets it, so undoing the delete brings
        the thumbnail back too.
        """
        if not png.startswith(b"\x89PNG\r\n\x1a\n"):
            raise ValueError("a thumbnail must be PNG bytes")
        self._version_record(version_id, deleted=True)
        blob = self._store.put_bytes(png, label="the thumbnail")
        try:

            def change(session: Session) -> _Written:
                version = _get_version_by_id(session, version_id, deleted=True)
                self._ensure_stored({"t": blob}, {"t": png})
                old = version.thumbnail_sha
                version.thumbnail_sha = blob.sha256
                released = frozenset({old}) if old and old != blob.sha256 else frozenset()
                return _Written((LibraryChange("thumbnail-changed", version.model_id),), released)

            self._apply(change)
        except BaseException:
            if blob.created:
                self._release({blob.sha256})
            raise
        return self._version_record(version_id, deleted=True)

    # -- files out -------------------------------------------------------------------------

    def materialize(self, version: VersionRecord) -> Path:
        """The version's main file on disk, with its companions beside it, ready to load.

        Files are hard links into the store (copies where links aren't possible) under
        ``cache/<version uid>/``; treat them as read-only.
        """
        self._check_open()
        outside = LibraryError(
            f"Could not prepare “{version.filename}” for opening: the library names one of its "
            "files with a path outside its folder, so nothing was written. Import the file again."
        )
        # Stored paths may come from a damaged database or another device: each target is
        # checked, after resolving links, to stay in its folder before anything is written.
        try:
            if "/" in version.uid:
                raise ValueError("a uid is one folder name")
            inside(self.cache_dir, version.uid)
        except ValueError:
            log.warning("version %s has an unsafe uid %r", version.id, version.uid)
            raise outside from None
        target = self.cache_dir / version.uid
        main_name = _safe_filename(version.filename)
        if _cache_complete(target, main_name, version):
            return target / main_name
        self._require_blobs(version)
        staging = self._store.new_temp_path(suffix=".dir")
        try:
            staging.mkdir()
            _link_or_copy(self._store.path(version.sha256), staging / main_name)
            for companion in version.companions:
                try:
                    dest = inside(staging, companion.relpath)
                except ValueError:
                    log.warning(
                        "version %s has an unsafe companion path %r", version.id, companion.relpath
                    )
                    raise outside from None
                dest.parent.mkdir(parents=True, exist_ok=True)
                _link_or_copy(self._store.path(companion.sha256), dest)
            if target.exists():
                if _cache_complete(target, main_name, version):
                    return target / main_name  # another thread finished it meanwhile
                # An incomplete earlier attempt: move it aside before replacing it.
                aside = self._store.new_temp_path(suffix=".old")
                os.replace(target, aside)
                _remove_tree(aside)
            try:
                os.replace(staging, target)
            except OSError:
                # Another thread or process finished the same folder first.
                if not _cache_complete(target, main_name, version):
                    raise
        except OSError as exc:
            if is_disk_full(exc):
                raise LibraryError(
                    f"The disk is full: could not prepare “{version.filename}” for opening. "
                    "Free some space and try again."
                ) from exc
            raise LibraryError(
                f"Could not prepare “{version.filename}” for opening: {exc.strerror or exc}."
            ) from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return target / main_name

    def export_version(
        self,
        model_id: int,
        out: Path,
        *,
        number: int | None = None,
        progress: Progress = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> list[Path]:
        """Write a version (the active one unless ``number``) to ``out``.

        The format follows ``out``'s extension. The version's unit and up axis
        (:meth:`set_version_placement`) are honoured: the file written means what its
        format says (STL millimetres and Z up, GLB metres and Y up, 3MF its declared unit),
        so a version marked centimetres is scaled by 10 into an STL. When the format's
        family is the stored one, the version has no companion files and its placement is
        the file's own, the bytes are copied as they are; otherwise the file is loaded and
        written by :func:`studio.meshes.export`.

        Returns
        -------
        list of Path
            Every file written (an OBJ brings its MTL and textures), ``out`` last.
        """
        out = Path(out)
        version = self.get_version(model_id, number) if number else self.active_version(model_id)
        target = meshes.format_for_extension(out.suffix)
        as_stored = version.unit_is_default and version.up_axis_is_default
        if target.family == version.format.family and not version.companions and as_stored:
            self._require_blobs(version)
            self._copy_out(self._store.path(version.sha256), out, progress, cancel)
            return [out]
        path = self.materialize(version)
        scene = meshes.load(path, progress=_scaled(progress, 0.0, 0.7), cancel=cancel)
        progress(0.7, "Writing file")
        written = meshes.export(placed_for(scene, target, version.placement), out)
        progress(1.0, "Exported")
        return written

    def _copy_out(self, blob: Path, out: Path, progress: Progress, cancel: CancelToken) -> None:
        total = blob.stat().st_size
        done = 0
        try:
            with blob.open("rb") as src, atomic_writer(out) as dst:
                while chunk := src.read(CHUNK_SIZE):
                    cancel.raise_if_cancelled()
                    dst.write(chunk)
                    done += len(chunk)
                    progress(done / total if total else 1.0, "Writing file")
        except OSError as exc:
            if is_disk_full(exc):
                raise LibraryError(
                    f"The disk is full: could not write “{out.name}”. "
                    "Free some space and try again."
                ) from exc
            raise LibraryError(describe_os_error(exc, out)) from exc

    # -- upkeep ----------------------------------------------------------------------------

    def sweep(self, *, grace: float = DELETE_GRACE) -> int:
        """Remove what nothing refers to: stray blobs, crash leftovers in ``tmp/``, stale
        cache folders, and models and versions deleted more than ``grace`` seconds ago
        (with the files only they used; they can't be restored after this).
        Returns how many files and folders were removed."""
        removed = self._sweep_temp(STALE_TEMP_AGE)
        cutoff = utcnow() - timedelta(seconds=max(grace, 0.0))
        with self._write() as session:
            _purge_deleted(session, cutoff)
            referenced = _all_referenced(session)
            uids = set(session.scalars(select(Version.uid)).all())
            uids.update(session.scalars(select(Generation.uid)).all())
            # Under the write lock, so no write can be about to commit a row naming these.
            for sha in list(self._store.shas()):
                if sha not in referenced and self._store.delete(sha):
                    removed += 1
        for entry in self.cache_dir.iterdir():
            if entry.name not in uids:
                _remove_tree(entry)
                removed += 1
        return removed

    def purge_deleted(self, *, grace: float = DELETE_GRACE) -> int:
        """Remove for good the models and versions deleted more than ``grace`` seconds ago,
        with the files only they used. Runs at :meth:`open`; a long-running app may call it
        now and then (the sync pushes a deletion only once it is purged). Returns how many
        versions were removed."""
        cutoff = utcnow() - timedelta(seconds=max(grace, 0.0))

        def change(session: Session) -> _Written:
            doomed = session.execute(
                select(Version.id, Version.uid).where(
                    or_(
                        Version.deleted_at <= cutoff,
                        Version.model_id.in_(select(Model.id).where(Model.deleted_at <= cutoff)),
                    )
                )
            ).all()
            released = _blobs_of(session, [row.id for row in doomed])
            _purge_deleted(session, cutoff)
            return _Written((), released, frozenset(row.uid for row in doomed))

        return len(self._apply(change).released_uids)

    def check(self, *, verify_hashes: bool = False) -> list[str]:
        """Consistency problems, one sentence each; an empty list means all is well.

        Parameters
        ----------
        verify_hashes
            Also re-hash every referenced blob (slow on a big library).
        """
        problems: list[str] = []
        with self._read() as session:
            quick = session.execute(text("PRAGMA quick_check")).scalars().all()
            if quick != ["ok"]:
                problems.extend(f"Database: {line}" for line in quick)
            for row in session.execute(text("PRAGMA foreign_key_check")).all():
                problems.append(f"Table {row[0]} row {row[1]} breaks a link to table {row[2]}.")
            models = session.scalars(select(Model)).all()
            versions = session.scalars(select(Version)).all()
            files = session.scalars(select(VersionFile)).all()
        by_id = {v.id: v for v in versions}
        by_model: dict[int, list[Version]] = {}
        for v in versions:
            by_model.setdefault(v.model_id, []).append(v)
        for model in models:
            mine = by_model.get(model.id, [])
            active = by_id.get(model.active_version_id)
            if not mine:
                problems.append(f"Model {model.id} (“{model.name}”) has no versions.")
            if active is None or active.model_id != model.id:
                problems.append(f"Model {model.id} (“{model.name}”) has no valid active version.")
            elif active.deleted_at is not None:
                problems.append(f"Model {model.id} (“{model.name}”) has a deleted active version.")
            numbers = [v.number for v in mine]
            for dup in sorted({n for n in numbers if numbers.count(n) > 1}):
                problems.append(f"Model {model.id} has more than one version {dup}.")
            if numbers and max(numbers) > model.last_version_number:
                problems.append(
                    f"Model {model.id} has version {max(numbers)} but its last number is "
                    f"{model.last_version_number}."
                )
        model_ids = {m.id for m in models}
        wanted: list[tuple[str, str, int | None]] = []
        for v in versions:
            if v.model_id not in model_ids:
                problems.append(f"Version {v.id} belongs to a model that doesn't exist.")
            wanted.append(
                (v.sha256, f"the file of version {v.number} of model {v.model_id}", v.file_size)
            )
            if v.thumbnail_sha:
                wanted.append((v.thumbnail_sha, f"the thumbnail of version {v.id}", None))
            for image in _source_images(v.source):
                wanted.append((image, f"an input image of version {v.id}", None))
        for f in files:
            owner = by_id.get(f.version_id)
            where = f"version {owner.number} of model {owner.model_id}" if owner else "a version"
            wanted.append((f.sha256, f"“{f.relpath}” of {where}", f.file_size))
        for sha, what, size in wanted:
            path = self._store.path(sha)
            if not path.is_file():
                problems.append(f"The store is missing {what} ({sha[:12]}…).")
            elif size is not None and path.stat().st_size != size:
                problems.append(f"The store has the wrong size for {what} ({sha[:12]}…).")
            elif verify_hashes:
                digest = hashlib.sha256()
                with path.open("rb") as fh:
                    while chunk := fh.read(CHUNK_SIZE):
                        digest.update(chunk)
                if digest.hexdigest() != sha:
                    problems.append(f"The store has damaged bytes for {what} ({sha[:12]}…).")
        return problems

    # -- sync ------------------------------------------------------------------------------
    # The library's side of syncing with the account service (studio.account.sync). Models
    # and versions are matched across devices by uid; see studio.library.sync_state.

    def sync_snapshot(self) -> SyncSnapshot:
        """The local models with their versions, and the sync state, in one snapshot.

        Models and versions deleted softly are left out on both sides: they are neither
        sent nor known to be on the server, so the sync neither pushes them nor pushes
        their deletion. The deletion goes out once the sweep has removed them for good
        (then the server still holds what is gone here); until then an undo is purely
        local, and no other device has lost anything.
        """
        with self._read() as session:
            cursor = session.get(SyncState, CURSOR_KEY)
            models = session.scalars(
                select(Model).where(Model.deleted_at.is_(None)).order_by(Model.id)
            ).all()
            versions = session.scalars(
                _live(select(Version)).order_by(Version.model_id, Version.number)
            ).all()
            hidden_models = set(
                session.scalars(select(Model.uid).where(Model.deleted_at.is_not(None))).all()
            )
            hidden_versions = set(
                session.scalars(
                    select(Version.uid).where(
                        or_(
                            Version.deleted_at.is_not(None),
                            Version.model_id.in_(
                                select(Model.id).where(Model.deleted_at.is_not(None))
                            ),
                        )
                    )
                ).all()
            )
            records = _version_records(session, versions, 0)
            by_model: dict[int, list[VersionRecord]] = {}
            for record in records:
                by_model.setdefault(record.model_id, []).append(record)
            uid_of = {v.id: v.uid for v in versions}
            local = {
                m.uid: LocalModel(
                    id=m.id,
                    uid=m.uid,
                    name=m.name,
                    created_at=m.created_at,
                    active_version_uid=uid_of.get(m.active_version_id, ""),
                    last_version_number=m.last_version_number,
                    versions=tuple(by_model.get(m.id, ())),
                )
                for m in models
            }
            server_models = {
                row.uid: ServerModelState(row.uid, row.active_version_uid, row.active_revision)
                for row in session.scalars(select(SyncModel)).all()
                if row.uid not in hidden_models
            }
            server_versions = {
                row.uid: row.model_uid
                for row in session.scalars(select(SyncVersion)).all()
                if row.uid not in hidden_versions and row.model_uid not in hidden_models
            }
        return SyncSnapshot(
            cursor=cursor.value if cursor is not None else 0,
            models=local,
            server_models=server_models,
            server_versions=server_versions,
        )

    def sync_set_cursor(self, cursor: int) -> None:
        """Remember the cursor of the last feed applied in full."""
        with self._write() as session:
            session.merge(SyncState(key=CURSOR_KEY, value=cursor))

    def sync_mark_model(
        self, uid: str, active_version_uid: str | None, active_revision: int
    ) -> None:
        """Record that the server holds model ``uid`` with this active state."""
        with self._write() as session:
            session.merge(
                SyncModel(
                    uid=uid, active_version_uid=active_version_uid, active_revision=active_revision
                )
            )

    def sync_mark_version(self, uid: str, model_uid: str) -> None:
        """Record that the server holds version ``uid`` of model ``model_uid``."""
        with self._write() as session:
            session.merge(SyncVersion(uid=uid, model_uid=model_uid))

    def sync_forget(
        self, *, model_uid: str | None = None, version_uids: Iterable[str] = ()
    ) -> None:
        """Forget that the server holds a model (with its versions) or some versions."""
        uids = list(version_uids)
        with self._write() as session:
            if model_uid is not None:
                session.execute(delete(SyncModel).where(SyncModel.uid == model_uid))
                session.execute(delete(SyncVersion).where(SyncVersion.model_uid == model_uid))
            if uids:
                session.execute(delete(SyncVersion).where(SyncVersion.uid.in_(uids)))

    def sync_renumber_version(self, uid: str, number: int) -> VersionRecord:
        """Give a version the server has never seen a new, higher, unused number.

        Used when another device published the same number first: the unpublished version
        moves, so no published number is ever reused.
        """

        def change(session: Session) -> _Written:
            version = session.scalars(select(Version).where(Version.uid == uid)).one()
            if session.get(SyncVersion, uid) is not None:
                raise LibraryError("A version the account already has cannot be renumbered.")
            model = _get_model(session, version.model_id)
            if version.number != number:
                _renumber(session, model, version, number)
            return _Written((LibraryChange("model-changed", model.id),))

        self._apply(change)
        return self._sync_version_record(uid)

    def sync_download_path(self) -> Path:
        """A fresh temp path in the library folder to download a blob into."""
        self._check_open()
        return self._store.new_temp_path(suffix=".download")

    def sync_has_blob(self, sha256: str) -> bool:
        return self._store.exists(sha256)

    def sync_store_download(self, path: Path, sha256: str) -> None:
        """Move a downloaded file into the store, checking that its bytes are ``sha256``."""
        try:
            blob = self._store.put_file(path)
        finally:
            path.unlink(missing_ok=True)
        if blob.sha256 != sha256:
            if blob.created:
                self._release({blob.sha256})
            raise LibraryError("A file downloaded from the account was damaged on the way.")

    def sync_insert_version(
        self,
        *,
        model_uid: str,
        model_name: str,
        model_created_at: datetime,
        uid: str,
        number: int,
        sha256: str,
        filename: str,
        format: str,
        companions: Sequence[tuple[str, str]],
        thumbnail_sha: str | None,
        source: Mapping[str, Any],
        stats: Mapping[str, Any],
        created_at: datetime,
        server_active: tuple[str | None, int] | None = None,
    ) -> VersionRecord:
        """Add a version received from the server, with its uid and number (idempotent).

        Every blob must already be in the store (:meth:`sync_store_download`). A new model
        is created with it as its active version and, when ``server_active`` is given, the
        server's active state is recorded in the same commit. A local version the server
        has never seen that holds the same number moves to the next free number.
        """
        problem = version_problem(
            uid=uid,
            model_uid=model_uid,
            number=number,
            sha256=sha256,
            filename=filename,
            format=format,
            companions=companions,
            thumbnail_sha=thumbnail_sha,
            created_at=created_at,
        )
        problem = problem or time_problem(model_created_at)
        if problem is not None:
            raise LibraryError(f"A version from the account was not added: {problem}.")
        shas = [sha256, *(sha for _, sha in companions), *_source_images(dict(source))]
        if thumbnail_sha:
            shas.append(thumbnail_sha)
        fmt = MeshFormat(format)

        def change(session: Session) -> _Written:
            if session.scalars(select(Version.id).where(Version.uid == uid)).first() is not None:
                return _Written(())
            missing = [sha for sha in shas if not self._store.exists(sha)]
            if missing:
                raise LibraryError(
                    f"{len(missing)} file(s) of a downloaded version are missing from the "
                    "library folder. Sync again."
                )
            model = session.scalars(select(Model).where(Model.uid == model_uid)).first()
            kind: ChangeKind = "version-added"
            if model is None:
                model = Model(
                    uid=model_uid,
                    name=_clean_name(model_name),
                    notes="",
                    created_at=model_created_at,
                    updated_at=utcnow(),
                    active_version_id=0,
                    last_version_number=number,
                )
                session.add(model)
                session.flush()
                kind = "model-added"
                if server_active is not None:
                    session.merge(
                        SyncModel(
                            uid=model_uid,
                            active_version_uid=server_active[0],
                            active_revision=server_active[1],
                        )
                    )
            else:
                taken = session.scalars(
                    select(Version).where(Version.model_id == model.id, Version.number == number)
                ).first()
                if taken is not None:
                    if session.get(SyncVersion, taken.uid) is not None:
                        raise LibraryError(
                            f"Version {number} of “{model.name}” differs from the account's."
                        )
                    _renumber(session, model, taken, max(model.last_version_number, number) + 1)
                model.last_version_number = max(model.last_version_number, number)
            version = Version(
                uid=uid,
                model_id=model.id,
                number=number,
                sha256=sha256,
                filename=filename,
                format=fmt.value,
                file_size=self._store.path(sha256).stat().st_size,
                source=dict(source),
                stats=dict(stats),
                thumbnail_sha=thumbnail_sha,
                note="",
                created_at=created_at,
            )
            session.add(version)
            session.flush()
            session.add_all(
                VersionFile(
                    version_id=version.id,
                    relpath=rel,
                    sha256=sha,
                    file_size=self._store.path(sha).stat().st_size,
                )
                for rel, sha in companions
            )
            if kind == "model-added":
                model.active_version_id = version.id
            model.updated_at = utcnow()
            session.merge(SyncVersion(uid=uid, model_uid=model_uid))
            session.flush()
            return _Written((LibraryChange(kind, model.id),))

        self._apply(change)
        return self._sync_version_record(uid)

    def sync_apply_active(
        self, model_uid: str, active_version_uid: str | None, active_revision: int
    ) -> bool:
        """Take the server's active version (when the version is here) and record it as
        agreed. Returns True if the local active version changed."""

        def change(session: Session) -> _Written:
            model = session.scalars(select(Model).where(Model.uid == model_uid)).first()
            if model is None:
                return _Written(())
            session.merge(
                SyncModel(
                    uid=model_uid,
                    active_version_uid=active_version_uid,
                    active_revision=active_revision,
                )
            )
            version = session.scalars(
                select(Version).where(
                    Version.uid == (active_version_uid or ""),
                    Version.model_id == model.id,
                    # Deleted here but not yet purged: it stays deleted (and not active).
                    Version.deleted_at.is_(None),
                )
            ).first()
            if version is None or model.active_version_id == version.id:
                return _Written(())
            model.active_version_id = version.id
            model.updated_at = utcnow()
            return _Written((LibraryChange("active-changed", model.id),))

        return bool(self._apply(change).changes)

    def sync_drop_versions(self, model_uid: str, version_uids: Iterable[str]) -> int:
        """Delete versions the account deleted, and forget them. The last version of a
        model is never deleted this way (the model's own tombstone does that). Returns how
        many local versions were deleted."""
        uids = set(version_uids)

        def change(session: Session) -> _Written:
            model = session.scalars(select(Model).where(Model.uid == model_uid)).first()
            session.execute(delete(SyncVersion).where(SyncVersion.uid.in_(uids)))
            if model is None:
                return _Written(())
            rows = session.scalars(select(Version).where(Version.model_id == model.id)).all()
            doomed = [v for v in rows if v.uid in uids]
            # Only a version not deleted here can take over as the active one.
            remaining = sorted(
                (v for v in rows if v.uid not in uids and v.deleted_at is None),
                key=lambda v: v.number,
            )
            live_doomed = [v for v in doomed if v.deleted_at is None]
            if not remaining and live_doomed:
                # Keep the newest: a model always has a version. The feed's model
                # tombstone, if any, removes it.
                keep = max(live_doomed, key=lambda v: v.number)
                doomed.remove(keep)
                remaining = [keep]
            if not doomed:
                return _Written(())
            ids = [v.id for v in doomed]
            released = _blobs_of(session, ids)
            changes = [LibraryChange("version-deleted", model.id)]
            if model.active_version_id in ids:
                model.active_version_id = remaining[-1].id
                changes.append(LibraryChange("active-changed", model.id))
            session.execute(delete(Version).where(Version.id.in_(ids)))
            model.updated_at = utcnow()
            return _Written(tuple(changes), released, frozenset(v.uid for v in doomed))

        written = self._apply(change)
        return len(written.released_uids)

    def sync_drop_model(self, model_uid: str) -> str | None:
        """Apply the account's deletion of a model.

        The versions the account held are deleted. If versions the account never saw
        remain, they are kept under a fresh model uid (a model the account will see as
        new), which is returned; otherwise the model is deleted and None is returned.
        """
        new_uid = uuid.uuid4().hex

        def change(session: Session) -> _Written:
            known = set(
                session.scalars(
                    select(SyncVersion.uid).where(SyncVersion.model_uid == model_uid)
                ).all()
            )
            session.execute(delete(SyncModel).where(SyncModel.uid == model_uid))
            session.execute(delete(SyncVersion).where(SyncVersion.model_uid == model_uid))
            model = session.scalars(select(Model).where(Model.uid == model_uid)).first()
            if model is None:
                return _Written(())
            rows = session.scalars(select(Version).where(Version.model_id == model.id)).all()
            # Versions deleted here are not worth keeping: they go with the model.
            unseen = sorted(
                (v for v in rows if v.uid not in known and v.deleted_at is None),
                key=lambda v: v.number,
            )
            doomed = [v for v in rows if v.uid in known or v.deleted_at is not None]
            released = _blobs_of(session, [v.id for v in doomed])
            uids = frozenset(v.uid for v in doomed)
            if not unseen:
                tag_ids = session.scalars(
                    select(model_tags.c.tag_id).where(model_tags.c.model_id == model.id)
                ).all()
                session.execute(delete(Model).where(Model.id == model.id))
                _drop_unused_tags(session, tag_ids)
                return _Written((LibraryChange("model-deleted", model.id),), released, uids)
            if model.active_version_id not in {v.id for v in unseen}:
                model.active_version_id = unseen[-1].id
            if doomed:
                session.execute(delete(Version).where(Version.id.in_([v.id for v in doomed])))
            model.uid = new_uid
            model.updated_at = utcnow()
            return _Written((LibraryChange("model-changed", model.id),), released, uids)

        written = self._apply(change)
        if written.changes and written.changes[0].kind == "model-changed":
            return new_uid
        return None

    def _sync_version_record(self, uid: str) -> VersionRecord:
        with self._read() as session:
            version = session.scalars(select(Version).where(Version.uid == uid)).one()
            # The sync also writes to models deleted here (softly), for an undo to find.
            model = _get_model(session, version.model_id, deleted=True)
            return _version_records(session, [version], model.active_version_id)[0]

    # -- plumbing --------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise LibraryError("The library is closed.")

    @contextlib.contextmanager
    def _read(self) -> Iterator[Session]:
        self._check_open()
        with self._db.read() as session:
            yield session

    @contextlib.contextmanager
    def _write(self) -> Iterator[Session]:
        self._check_open()
        with self._db.write() as session:
            yield session

    def _apply(self, change: Callable[[Session], _Written]) -> _Written:
        """Run ``change`` in a write transaction, then tidy up and announce it."""
        with self._write() as session:
            written = change(session)
        self._release(written.released_shas)
        for uid in written.released_uids:
            _remove_tree(self.cache_dir / uid)  # best effort too: the sweep retries
        self._announce(written.changes)
        return written

    def _announce(self, changes: Iterable[LibraryChange]) -> None:
        for item in changes:
            self.changed.emit(item)

    def _change_model(self, model_id: int, edit: Callable[[Model], None]) -> ModelRecord:
        def change(session: Session) -> _Written:
            model = _get_model(session, model_id)
            edit(model)
            model.updated_at = utcnow()
            return _Written((LibraryChange("model-changed", model_id),))

        self._apply(change)
        return self.get_model(model_id)

    def _release(self, shas: Iterable[str]) -> None:
        """Delete those of ``shas`` that no row names any more (after a commit).

        Best effort: a blob that can't be deleted now is only wasted space, which the
        sweep reclaims, so a failure here must not hide the outcome of the real work.
        """
        candidates = set(shas)
        if not candidates or self._closed:
            return
        try:
            with self._write() as session:
                # Re-checked under the write lock: see the module docstring.
                still_used = _referenced_among(session, candidates)
                for sha in candidates - still_used:
                    self._store.delete(sha)
        except Exception:
            log.warning("could not remove %d unused blobs now", len(candidates), exc_info=True)

    def _sweep_temp(self, max_age: float) -> int:
        removed = 0
        for entry in self._store.stale_temp_files(max_age):
            _remove_tree(entry)
            removed += 1
        return removed

    def _require_blobs(self, version: VersionRecord) -> None:
        shas = [version.sha256, *(c.sha256 for c in version.companions)]
        if not all(self._store.exists(sha) for sha in shas):
            raise LibraryError(
                f"The files of version {version.number} are missing from the library folder. "
                "Restore the folder from a backup."
            )


# -- queries ---------------------------------------------------------------------------------


def _no_model(model_id: int) -> LibraryError:
    return LibraryError(f"There is no model with id {model_id}.")


def _get_model(session: Session, model_id: int, *, deleted: bool = False) -> Model:
    """A model; one deleted softly counts as gone unless ``deleted``."""
    model = session.get(Model, model_id)
    if model is None or (model.deleted_at is not None and not deleted):
        raise _no_model(model_id)
    return model


def _get_version(session: Session, model: Model, number: int) -> Version:
    version = session.scalars(
        select(Version).where(
            Version.model_id == model.id, Version.number == number, Version.deleted_at.is_(None)
        )
    ).first()
    if version is None:
        raise LibraryError(f"“{model.name}” has no version {number}.")
    return version


def _get_version_by_id(session: Session, version_id: int, *, deleted: bool = False) -> Version:
    """A version by id; a deleted one (or one of a deleted model) is gone unless ``deleted``."""
    version = session.get(Version, version_id)
    if version is not None and not deleted:
        model = session.get(Model, version.model_id)
        if version.deleted_at is not None or model is None or model.deleted_at is not None:
            version = None
    if version is None:
        raise LibraryError(f"There is no version with id {version_id}.")
    return version


def _live(stmt: Select[_Row]) -> Select[_Row]:
    """``stmt`` (over versions) without soft-deleted versions or versions of deleted models."""
    return stmt.where(
        Version.deleted_at.is_(None),
        Version.model_id.in_(select(Model.id).where(Model.deleted_at.is_(None))),
    )


def _model_records(session: Session, ids: Select[int]) -> list[ModelRecord]:
    """Records for the models whose ids ``ids`` selects, most recently updated first."""
    counted = aliased(Version)
    count = (
        select(func.count(counted.id))
        .where(counted.model_id == Model.id, counted.deleted_at.is_(None))
        .correlate(Model)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Model, Version.number, Version.thumbnail_sha, count)
        .join(Version, Version.id == Model.active_version_id)
        .where(Model.id.in_(ids.correlate(None).scalar_subquery()), Model.deleted_at.is_(None))
        .order_by(Model.updated_at.desc(), Model.id.desc())
    ).all()
    tags: dict[int, list[str]] = {}
    if rows:
        for model_id, tag_name in session.execute(
            select(model_tags.c.model_id, Tag.name)
            .join(Tag, Tag.id == model_tags.c.tag_id)
            .where(model_tags.c.model_id.in_([row[0].id for row in rows]))
            .order_by(Tag.key)
        ).all():
            tags.setdefault(model_id, []).append(tag_name)
    return [
        ModelRecord(
            id=model.id,
            uid=model.uid,
            name=model.name,
            notes=model.notes,
            tags=tuple(tags.get(model.id, ())),
            created_at=model.created_at,
            updated_at=model.updated_at,
            active_version_id=model.active_version_id,
            active_version_number=number,
            version_count=n_versions,
            thumbnail_sha=thumbnail,
        )
        for model, number, thumbnail, n_versions in rows
    ]


def _version_records(
    session: Session, versions: Sequence[Version], active_id: int
) -> list[VersionRecord]:
    companions: dict[int, list[CompanionRecord]] = {}
    if versions:
        for f in session.scalars(
            select(VersionFile)
            .where(VersionFile.version_id.in_([v.id for v in versions]))
            .order_by(VersionFile.relpath)
        ).all():
            companions.setdefault(f.version_id, []).append(
                CompanionRecord(relpath=f.relpath, sha256=f.sha256, file_size=f.file_size)
            )
    placements = {
        v.id: resolve_placement(MeshFormat(v.format), _declared_unit(v.stats), v.unit, v.up_axis)
        for v in versions
    }
    return [
        VersionRecord(
            id=v.id,
            uid=v.uid,
            model_id=v.model_id,
            number=v.number,
            is_active=v.id == active_id,
            filename=v.filename,
            format=MeshFormat(v.format),
            file_size=v.file_size,
            sha256=v.sha256,
            source=json_dict(v.source),
            stats=json_dict(v.stats),
            thumbnail_sha=v.thumbnail_sha,
            note=v.note,
            created_at=v.created_at,
            companions=tuple(companions.get(v.id, ())),
            unit=placements[v.id].unit,
            up_axis=placements[v.id].up_axis,
            unit_is_default=placements[v.id].unit_is_default,
            unit_is_assumed=placements[v.id].unit_is_assumed,
            up_axis_is_default=placements[v.id].up_axis_is_default,
        )
        for v in versions
    ]


def _declared_unit(stats: Any) -> str | None:
    """The unit a version's file declares, as its stats recorded it ("millimeter")."""
    unit = stats.get("unit") if isinstance(stats, dict) else None
    return unit if isinstance(unit, str) else None


def _find_same_files(
    session: Session, model_id: int | None, sha: str, companions: set[tuple[str, str]]
) -> Version | None:
    """A version with this main file and exactly these companions (in the model, or anywhere)."""
    stmt = _live(select(Version).where(Version.sha256 == sha))
    if model_id is not None:
        stmt = stmt.where(Version.model_id == model_id)
    stmt = stmt.join(Model, Model.id == Version.model_id).order_by(
        Model.updated_at.desc(), Version.number.desc()
    )
    for candidate in session.scalars(stmt).all():
        theirs = {
            (f.relpath, f.sha256)
            for f in session.scalars(
                select(VersionFile).where(VersionFile.version_id == candidate.id)
            ).all()
        }
        if theirs == companions:
            return candidate
    return None


def _source_images(source: Any) -> list[str]:
    images = source.get("images") if isinstance(source, dict) else None
    if not isinstance(images, list):
        return []
    return [image for image in images if isinstance(image, str) and is_sha256(image)]


_IMAGES_SQL = text(
    "SELECT DISTINCT j.value FROM versions AS v, json_each(v.source, '$.images') AS j "
    "WHERE json_type(v.source, '$.images') = 'array' AND j.type = 'text'"
)


def _all_referenced(session: Session) -> set[str]:
    referenced: set[str] = set(session.scalars(select(Version.sha256)).all())
    referenced.update(session.scalars(select(VersionFile.sha256)).all())
    referenced.update(
        sha for sha in session.scalars(select(Version.thumbnail_sha)).all() if sha is not None
    )
    referenced.update(str(sha) for sha in session.scalars(_IMAGES_SQL).all())
    referenced.update(session.scalars(select(GenerationImage.sha256)).all())
    return referenced


def _referenced_among(session: Session, shas: set[str]) -> set[str]:
    found: set[str] = set(
        session.scalars(select(Version.sha256).where(Version.sha256.in_(shas))).all()
    )
    found.update(
        session.scalars(select(VersionFile.sha256).where(VersionFile.sha256.in_(shas))).all()
    )
    found.update(
        sha
        for sha in session.scalars(
            select(Version.thumbnail_sha).where(Version.thumbnail_sha.in_(shas))
        ).all()
        if sha is not None
    )
    found.update(str(sha) for sha in session.scalars(_IMAGES_SQL).all() if sha in shas)
    found.update(
        session.scalars(
            select(GenerationImage.sha256).where(GenerationImage.sha256.in_(shas))
        ).all()
    )
    return found


def _blobs_of(session: Session, version_ids: Sequence[int]) -> frozenset[str]:
    """Every blob the given versions name (their files, thumbnails and input images)."""
    if not version_ids:
        return frozenset()
    shas: set[str] = set()
    for v in session.scalars(select(Version).where(Version.id.in_(version_ids))).all():
        shas.add(v.sha256)
        if v.thumbnail_sha:
            shas.add(v.thumbnail_sha)
        shas.update(_source_images(v.source))
    shas.update(
        session.scalars(
            select(VersionFile.sha256).where(VersionFile.version_id.in_(version_ids))
        ).all()
    )
    return frozenset(shas)


def _renumber(session: Session, model: Model, version: Version, number: int) -> None:
    """Move ``version`` to ``number``, above every number the model has used."""
    if number <= model.last_version_number:
        number = model.last_version_number + 1
    version.number = number
    model.last_version_number = number
    session.flush()


def _purge_deleted(session: Session, cutoff: datetime) -> None:
    """Remove for good the models and versions deleted softly at or before ``cutoff``.

    Their blobs are left to the caller's reference check (they may be shared).
    """
    models = session.scalars(
        select(Model.id).where(Model.deleted_at.is_not(None), Model.deleted_at <= cutoff)
    ).all()
    versions = session.scalars(
        select(Version.id).where(Version.deleted_at.is_not(None), Version.deleted_at <= cutoff)
    ).all()
    if versions:
        session.execute(delete(Version).where(Version.id.in_(versions)))
    if models:
        tag_ids = session.scalars(
            select(model_tags.c.tag_id).where(model_tags.c.model_id.in_(models))
        ).all()
        # The database cascades to versions, their files and the models' tags.
        session.execute(delete(Model).where(Model.id.in_(models)))
        _drop_unused_tags(session, tag_ids)
    if models or versions:
        log.info("removed %d deleted models and %d deleted versions", len(models), len(versions))


def _drop_unused_tags(session: Session, tag_ids: Sequence[int]) -> None:
    if tag_ids:
        used = select(model_tags.c.tag_id)
        session.execute(delete(Tag).where(Tag.id.in_(tag_ids), Tag.id.not_in(used)))


# -- small helpers ---------------------------------------------------------------------------


def _clean_unit(unit: str | Keep | None) -> str | Keep | None:
    if unit is None or isinstance(unit, Keep):
        return unit
    short = DISPLAY_UNIT_OF.get(unit.strip().lower(), unit.strip().lower())
    if short not in PLACEMENT_UNITS:
        raise LibraryError(
            f"“{unit}” is not a unit Kiln Studio knows. Choose one of {', '.join(PLACEMENT_UNITS)}."
        )
    return short


def _clean_up_axis(axis: str | Keep | None) -> str | Keep | None:
    if axis is None or isinstance(axis, Keep):
        return axis
    upper = axis.strip().upper()
    if upper not in UP_AXES:
        raise LibraryError(f"“{axis}” is not an up axis. Choose Y or Z.")
    return upper


def _clean_name(name: str) -> str:
    clean = " ".join(name.split())
    if not clean:
        raise LibraryError("A model needs a name.")
    if len(clean) > MAX_NAME_LENGTH:
        raise LibraryError(f"A model's name can have at most {MAX_NAME_LENGTH} characters.")
    return clean


def _check_files(files: Mapping[str, FileSource], main: str) -> None:
    """Programming errors in ``add_version``'s arguments (the caller built them)."""
    if main not in files:
        raise ValueError(f"the main file {main!r} is not among the files")
    if "/" in main or "\\" in main:
        raise ValueError("the main file must be a bare file name")
    for relpath in files:
        problem = relpath_problem(relpath)
        if problem is not None:
            raise ValueError(f"not a safe relative path ({problem}): {relpath!r}")


def _size_or_zero(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _scaled(progress: Progress, start: float, end: float) -> Progress:
    """A progress callback mapping 0..1 onto ``start..end`` of ``progress``."""

    def report(fraction: float, stage: str) -> None:
        progress(start + (end - start) * max(0.0, min(1.0, fraction)), stage)

    return report


_UNSAFE_NAME_CHARS = set('<>:"/\\|?*')


def _safe_filename(name: str) -> str:
    """A name every OS accepts (the stored name may come from another system)."""
    clean = "".join("_" if c in _UNSAFE_NAME_CHARS or ord(c) < 32 else c for c in name).strip(" .")
    return clean or "model"


def _cache_complete(target: Path, main_name: str, version: VersionRecord) -> bool:
    try:
        if target.is_symlink() or (target / main_name).stat().st_size != version.file_size:
            return False
        return all(
            inside(target, c.relpath).stat().st_size == c.file_size for c in version.companions
        )
    except (OSError, ValueError):
        return False


def _link_or_copy(source: Path, dest: Path) -> None:
    """Link (or copy) ``source`` to ``dest``, which must not exist: nothing is overwritten.

    ``dest`` may otherwise be a hard link into the store, or a file that isn't ours.
    """
    try:
        os.link(source, dest)
    except FileExistsError:
        raise
    except OSError:
        # Other filesystem, FAT, or a platform without hard links: copy instead, into a new
        # file only ("x" fails on anything already there, a symbolic link included).
        with source.open("rb") as src, dest.open("xb") as out:
            shutil.copyfileobj(src, out, CHUNK_SIZE)


def _remove_tree(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
