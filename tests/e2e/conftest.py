"""The command line as a real subprocess, and small model files written by hand.

The files are written byte by byte (not through :mod:`studio.meshes.export`) so that
reading them back checks the readers rather than a round trip through our own writer.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import KilnDirs
from tests.scenes import box_part

REPO = Path(__file__).resolve().parents[2]
#: Committed sample models; companions (MTL, textures, .bin) sit beside them.
SAMPLES_DIR = REPO / "tests" / "data"
MODEL_SUFFIXES = {".stl", ".obj", ".glb", ".gltf", ".ply", ".off", ".3mf"}


@dataclass(frozen=True)
class Run:
    """A finished CLI process."""

    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def stderr_lines(self) -> list[str]:
        return self.stderr.splitlines()


@dataclass(frozen=True)
class Cli:
    """Runs ``python -m studio`` with the test's environment and library folder."""

    data_dir: Path
    dirs: KilnDirs

    def run(
        self,
        *args: str | Path,
        expect: int = 0,
        prelude: str | None = None,
        unset: tuple[str, ...] = (),
    ) -> Run:
        """Run the CLI and check its exit code.

        Parameters
        ----------
        prelude
            Python run in the child before ``main`` (to patch something in); ``None``
            runs ``python -m studio`` itself.
        unset
            Environment variables the child runs without (``DISPLAY``, say).
        """
        argv = [str(a) for a in args]
        if prelude is None:
            command = [sys.executable, "-m", "studio", *argv]
        else:
            script = f"import sys\n{prelude}\nfrom studio.cli import main\nsys.exit(main())\n"
            command = [sys.executable, "-c", script, *argv]
        env = {k: v for k, v in os.environ.items() if k not in unset} | {"PYTHONUTF8": "1"}
        done = subprocess.run(
            command,
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=120,
            check=False,
        )
        result = Run(tuple(argv), done.returncode, done.stdout, done.stderr)
        assert result.code == expect, (
            f"exit code {result.code}, expected {expect} for {argv}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
        assert "Traceback" not in result.stderr, result.stderr
        return result

    def library(
        self,
        *args: str | Path,
        expect: int = 0,
        prelude: str | None = None,
        unset: tuple[str, ...] = (),
    ) -> Run:
        """``library ARGS --data-dir <the test's library>``."""
        return self.run(
            "library",
            *args,
            "--data-dir",
            self.data_dir,
            expect=expect,
            prelude=prelude,
            unset=unset,
        )

    def import_(self, path: Path, *extra: str | Path) -> dict[str, Any]:
        """Import without a thumbnail (no display needed); returns the JSON result."""
        result: dict[str, Any] = self.library(
            "import", path, "--json", "--no-thumbnail", *extra
        ).json()
        return result


@pytest.fixture
def cli(tmp_path: Path, kiln_dirs: KilnDirs) -> Cli:
    return Cli(tmp_path / "library", kiln_dirs)


# -- model files ------------------------------------------------------------------------


def box_arrays(
    size: tuple[float, float, float] = (10.0, 20.0, 30.0),
) -> tuple[np.ndarray, np.ndarray]:
    part = box_part(size)
    assert part.faces is not None
    return part.vertices.astype(np.float64), part.faces.astype(np.int64)


def binary_stl(triangles: np.ndarray) -> bytes:
    records = np.zeros(
        len(triangles),
        dtype=np.dtype([("normal", "<f4", 3), ("corners", "<f4", (3, 3)), ("attr", "<u2")]),
    )
    records["corners"] = triangles
    return b"kiln e2e".ljust(80, b"\0") + struct.pack("<I", len(triangles)) + records.tobytes()


def ascii_stl(triangles: np.ndarray) -> str:
    lines = ["solid test"]
    for tri in triangles:
        lines += ["  facet normal 0 0 0", "    outer loop"]
        lines += [f"      vertex {x:.6f} {y:.6f} {z:.6f}" for x, y, z in tri]
        lines += ["    endloop", "  endfacet"]
    return "\n".join([*lines, "endsolid test", ""])


def tetra_arrays(offset: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    v = np.array([[0, 0, 0], [4, 0, 0], [0, 5, 0], [0, 0, 6]], dtype=np.float64) + offset
    f = np.array([[0, 2, 1], [0, 1, 3], [0, 3, 2], [1, 2, 3]], dtype=np.int64)
    return v, f


def write_binary_stl(path: Path) -> None:
    v, f = box_arrays()
    path.write_bytes(binary_stl(v[f]))


def write_ascii_stl_with_flaws(path: Path) -> None:
    """A closed box plus a duplicated face and a zero-area sliver: not watertight."""
    v, f = box_arrays((7.5, 2.25, 3.0))
    tris = v[f]
    sliver = np.array([[[0, 0, 0], [1, 0, 0], [2, 0, 0]]], dtype=np.float64)
    path.write_text(ascii_stl(np.concatenate([tris, tris[:1], sliver])), encoding="utf-8")


def write_open_obj_with_seams(path: Path) -> None:
    """A box without its lid, with UVs and normals per corner (seams to weld across)."""
    v, f = box_arrays((3.0, 4.0, 5.0))
    lines = [f"v {x} {y} {z}" for x, y, z in v]
    lines += ["vt 0 0", "vt 1 0", "vt 1 1", "vt 0 1", "vn 0 0 1", "vn 0 1 0"]
    for i, (a, b, c) in enumerate(f[[0, 1, 4, 5, 6, 7, 8, 9, 10, 11]]):
        n = 1 + i % 2
        lines.append(f"f {a + 1}/1/{n} {b + 1}/{2 + i % 3}/{n} {c + 1}/4/{n}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def obj_text(parts: list[tuple[str, np.ndarray, np.ndarray]]) -> str:
    lines: list[str] = []
    base = 1
    for name, v, f in parts:
        lines.append(f"o {name}")
        lines += [f"v {x} {y} {z}" for x, y, z in v]
        lines += [f"f {a + base} {b + base} {c + base}" for a, b, c in f]
        base += len(v)
    return "\n".join(lines) + "\n"


def write_two_object_obj(path: Path) -> None:
    a = tetra_arrays()
    b = tetra_arrays(offset=10.0)
    path.write_text(obj_text([("left", *a), ("right", *b)]), encoding="utf-8")


def write_ascii_ply(path: Path) -> None:
    v, f = tetra_arrays()
    header = [
        "ply",
        "format ascii 1.0",
        f"element vertex {len(v)}",
        "property float x",
        "property float y",
        "property float z",
        f"element face {len(f)}",
        "property list uchar int vertex_indices",
        "end_header",
    ]
    body = [f"{x} {y} {z}" for x, y, z in v] + [f"3 {a} {b} {c}" for a, b, c in f]
    path.write_text("\n".join(header + body) + "\n", encoding="utf-8")


def write_binary_ply(path: Path) -> None:
    v, f = box_arrays((2.5, 2.5, 8.0))
    header = (
        "ply\nformat binary_little_endian 1.0\n"
        f"element vertex {len(v)}\nproperty float x\nproperty float y\nproperty float z\n"
        f"element face {len(f)}\nproperty list uchar int vertex_indices\nend_header\n"
    ).encode("ascii")
    faces = np.zeros(len(f), dtype=np.dtype([("n", "u1"), ("i", "<i4", 3)]))
    faces["n"] = 3
    faces["i"] = f
    path.write_bytes(header + v.astype("<f4").tobytes() + faces.tobytes())


def write_off_with_quads(path: Path) -> None:
    """A unit-ish cube made of six quads (readers triangulate them)."""
    v = np.array(
        [[0, 0, 0], [2, 0, 0], [2, 3, 0], [0, 3, 0], [0, 0, 4], [2, 0, 4], [2, 3, 4], [0, 3, 4]],
        dtype=np.float64,
    )
    quads = [[0, 3, 2, 1], [4, 5, 6, 7], [0, 1, 5, 4], [1, 2, 6, 5], [2, 3, 7, 6], [3, 0, 4, 7]]
    lines = ["OFF", f"{len(v)} {len(quads)} 0"]
    lines += [f"{x} {y} {z}" for x, y, z in v]
    lines += ["4 " + " ".join(map(str, q)) for q in quads]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_glb_scene(path: Path) -> None:
    """Two meshes, one placed twice, with rotations and translations to bake in."""
    import trimesh

    box_v, box_f = box_arrays((1.0, 2.0, 3.0))
    tet_v, tet_f = tetra_arrays()
    scene = trimesh.Scene()
    box = trimesh.Trimesh(box_v, box_f, process=False)
    tet = trimesh.Trimesh(tet_v, tet_f, process=False)
    turn = trimesh.transformations.rotation_matrix(0.7, [0, 0, 1])
    turn[:3, 3] = [5.0, -2.0, 1.0]
    scene.add_geometry(box, geom_name="box", node_name="box-a")
    scene.add_geometry(box, geom_name="box", node_name="box-b", transform=turn)
    scale = np.diag([2.0, 2.0, 2.0, 1.0])
    scale[:3, 3] = [-9.0, 0.0, 0.0]
    scene.add_geometry(tet, geom_name="tetra", node_name="tetra", transform=scale)
    path.write_bytes(scene.export(file_type="glb"))


def write_obj_named_stl(path: Path) -> None:
    """OBJ text behind an .stl name: the bytes decide, and a note says so."""
    path.write_text(obj_text([("tetra", *tetra_arrays())]), encoding="utf-8")


#: name → writer; every file here is a valid model (failures have their own tests). 3MF is
#: left to tests/data and the convert round trip: trimesh can't read it here.
GENERATED = {
    "box-binary.stl": write_binary_stl,
    "flawed-ascii.stl": write_ascii_stl_with_flaws,
    "open-seams.obj": write_open_obj_with_seams,
    "two-objects.obj": write_two_object_obj,
    "tetra-ascii.ply": write_ascii_ply,
    "tall-binary.ply": write_binary_ply,
    "quads.off": write_off_with_quads,
    "instanced.glb": write_glb_scene,
    "tetra-obj-text.stl": write_obj_named_stl,
}


@pytest.fixture(scope="session")
def generated_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("models")
    for name, write in GENERATED.items():
        write(folder / name)
    return folder


def committed_samples() -> list[str]:
    """Model files under tests/data (relative paths), companions left out."""
    if not SAMPLES_DIR.is_dir():
        return []
    return sorted(
        p.relative_to(SAMPLES_DIR).as_posix()
        for p in SAMPLES_DIR.rglob("*")
        if p.is_file() and p.suffix.lower() in MODEL_SUFFIXES
    )
