"""Test models for the benchmark: a high-resolution (2, 3) torus knot, generated with numpy.

The knot is a tube swept around a (2, 3) torus knot, about 80 mm across, in millimetres.
The tube is a closed ``n_along × n_around`` grid of quads, two triangles each, so the
triangle count is exactly ``2 · n_along · n_around``:

* ``torus-knot-1m.stl``  — binary STL, 1,000,000 triangles (2000 × 250)
* ``torus-knot-5m.stl``  — binary STL, 5,000,000 triangles (5000 × 500)
* ``torus-knot-1m.glb``  — textured GLB, 1,000,000 triangles (2000 × 250), indexed
  vertices, per-vertex normals, uv along/around the tube and a 1024×1024 PNG
  base-colour texture, written by the project's own exporter (``studio.meshes.export``).

Files are written under a temporary name and renamed into place, and reused when present
(``python -m benchmarks.data [--force] [DIR]`` (re)generates them on their own).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

#: Where the generated models live (git-ignored with the rest of ``benchmarks/out``).
DEFAULT_DIR = Path(__file__).resolve().parent / "out" / "data"

#: Overall size of the knot, in mm.
SIZE_MM = 80.0
#: Tube radius in knot units (the knot's core spans about ±3 units).
TUBE_RADIUS = 0.4
#: Side of the square base-colour texture, in pixels.
TEXTURE_SIZE = 1024


@dataclass(frozen=True)
class Model:
    """One benchmark file: its key (as ``--only`` names it), label and how to make it."""

    key: str
    label: str
    filename: str
    n_along: int
    n_around: int
    kind: str  # "stl" or "glb"

    @property
    def n_triangles(self) -> int:
        return 2 * self.n_along * self.n_around

    def path(self, directory: Path) -> Path:
        return directory / self.filename


MODELS: tuple[Model, ...] = (
    Model("stl1m", "STL 1M", "torus-knot-1m.stl", 2000, 250, "stl"),
    Model("stl5m", "STL 5M", "torus-knot-5m.stl", 5000, 500, "stl"),
    Model("glb1m", "GLB 1M textured", "torus-knot-1m.glb", 2000, 250, "glb"),
)
MODELS_BY_KEY = {m.key: m for m in MODELS}


# ---------------------------------------------------------------------------- geometry
def _knot_frame(n_along: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre line ``C`` and a periodic orthonormal frame ``(N, B)`` of the (2, 3) knot."""
    p, q = 2.0, 3.0
    t = np.linspace(0.0, 2.0 * np.pi, n_along, endpoint=False)
    cp, sp, cq, sq = np.cos(p * t), np.sin(p * t), np.cos(q * t), np.sin(q * t)
    r = 2.0 + cq
    centre = np.stack([r * cp, r * sp, -sq], axis=1)
    dr = -q * sq
    tangent = np.stack([dr * cp - r * p * sp, dr * sp + r * p * cp, -q * cq], axis=1)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    # The offset from the torus' core circle is never parallel to the tangent: project it
    # onto the normal plane. It is periodic in t, so the tube closes without a seam.
    offset = np.stack([cq * cp, cq * sp, -sq], axis=1)
    normal = offset - np.sum(offset * tangent, axis=1, keepdims=True) * tangent
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    binormal = np.cross(tangent, normal)
    return centre, normal, binormal


def knot_grid(n_along: int, n_around: int) -> tuple[np.ndarray, np.ndarray]:
    """Tube positions (mm) and outward unit normals, both ``(n_along, n_around, 3)`` float64."""
    centre, normal, binormal = _knot_frame(n_along)
    theta = np.linspace(0.0, 2.0 * np.pi, n_around, endpoint=False)
    ct, st = np.cos(theta)[None, :, None], np.sin(theta)[None, :, None]
    radial = ct * normal[:, None, :] + st * binormal[:, None, :]
    scale = SIZE_MM / (2.0 * (3.0 + TUBE_RADIUS))
    positions = (centre[:, None, :] + TUBE_RADIUS * radial) * scale
    return positions, radial


def grid_faces(n_along: int, n_around: int, *, wrap_along: bool, wrap_around: bool) -> np.ndarray:
    """``(2 · n_along · n_around, 3)`` int32 triangles of a quad grid, wound outward.

    Vertex ``(i, j)`` has index ``i * stride + j``. Without wrapping, the grid has one
    more row/column of vertices (a uv seam) and ``stride = n_around + 1``.
    """
    stride = n_around if wrap_around else n_around + 1
    rows = n_along if wrap_along else n_along + 1
    i = np.arange(n_along, dtype=np.int64)[:, None]
    j = np.arange(n_around, dtype=np.int64)[None, :]
    i1 = (i + 1) % rows
    j1 = (j + 1) % stride
    a = i * stride + j
    b = i1 * stride + j
    c = i1 * stride + j1
    d = i * stride + j1
    # (i, j) → (i, j+1) → (i+1, j+1) turns outward (around × along = outward).
    tris = np.stack([np.stack([a, d, c], -1), np.stack([a, c, b], -1)], axis=2)
    return tris.reshape(-1, 3).astype(np.int32)


# ---------------------------------------------------------------------------- STL
STL_RECORD = np.dtype([("normal", "<f4", (3,)), ("corners", "<f4", (3, 3)), ("attr", "<u2")])


def stl_size(n_triangles: int) -> int:
    return 84 + STL_RECORD.itemsize * n_triangles


def write_stl(model: Model, path: Path) -> None:
    """Binary STL, per-corner float32 positions and facet normals, no per-triangle loops."""
    positions, _ = knot_grid(model.n_along, model.n_around)
    flat = positions.reshape(-1, 3).astype(np.float32)
    del positions
    faces = grid_faces(model.n_along, model.n_around, wrap_along=True, wrap_around=True)
    records = np.zeros(faces.shape[0], dtype=STL_RECORD)
    records["corners"] = flat[faces]
    del faces, flat
    corners = records["corners"]
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    lengths = np.linalg.norm(normals, axis=1, keepdims=True)
    np.divide(normals, lengths, out=normals, where=lengths > 0)
    records["normal"] = normals
    del normals
    header = f"Kiln Studio benchmark: (2,3) torus knot, {model.n_triangles} triangles, mm"
    with _atomic_file(path) as f:
        f.write(header.encode("ascii").ljust(80, b" "))
        f.write(np.uint32(model.n_triangles).tobytes())
        records.tofile(f)


# ---------------------------------------------------------------------------- GLB
def glaze_texture(size: int = TEXTURE_SIZE, seed: int = 7) -> np.ndarray:
    """A glaze-like ``(size, size, 3)`` uint8 image: runs, pooling, crackle and speckles."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    # Drips: vertical runs of uneven length, softly wobbling sideways.
    wobble = 0.015 * np.sin(2 * np.pi * (y * 3.0 + x * 7.0))
    runs = np.zeros_like(x)
    for freq, amp, phase in zip(
        (11, 23, 37), (0.5, 0.3, 0.2), rng.uniform(0, 2 * np.pi, 3), strict=True
    ):
        runs += amp * (0.5 + 0.5 * np.sin(2 * np.pi * freq * (x + wobble) + phase))
    length = 0.55 + 0.35 * np.sin(2 * np.pi * 5 * x + 1.3)
    drip = np.clip((length - y) * 6.0, 0.0, 1.0) * runs
    # Crackle: thin dark lines where two interfering waves cross zero.
    field = np.sin(2 * np.pi * (13 * x + 2 * np.sin(2 * np.pi * 3 * y))) * np.sin(
        2 * np.pi * (11 * y + 2 * np.sin(2 * np.pi * 4 * x))
    )
    crackle = np.exp(-((field / 0.04) ** 2))
    speckle = (rng.random((size, size)) > 0.997).astype(np.float32)
    base = np.array([0.55, 0.70, 0.62], dtype=np.float32)  # celadon
    pool = np.array([0.18, 0.34, 0.36], dtype=np.float32)  # deep teal where it pools
    rim = np.array([0.82, 0.74, 0.58], dtype=np.float32)  # thin glaze over clay
    mix = np.clip(drip, 0.0, 1.0)[..., None]
    colour = base * (1.0 - mix) + pool * mix
    thin = np.clip((y - 0.85) * 8.0, 0.0, 1.0)[..., None]
    colour = colour * (1.0 - thin) + rim * thin
    colour *= (1.0 - 0.45 * crackle)[..., None]
    colour *= (1.0 - 0.6 * speckle)[..., None]
    colour += rng.normal(0.0, 0.012, colour.shape).astype(np.float32)
    return (np.clip(colour, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def write_glb(model: Model, path: Path) -> None:
    """Indexed, textured GLB through the project's exporter (uv seams duplicate vertices)."""
    from studio.meshes import Material, MeshFormat, Part, Scene, Texture, export

    n_along, n_around = model.n_along, model.n_around
    positions, radial = knot_grid(n_along, n_around)
    # Close the grid with an extra row and column so uv can run 0 → 1 without wrapping.
    positions = np.concatenate([positions, positions[:1]], axis=0)
    positions = np.concatenate([positions, positions[:, :1]], axis=1)
    radial = np.concatenate([radial, radial[:1]], axis=0)
    radial = np.concatenate([radial, radial[:, :1]], axis=1)
    u = np.linspace(0.0, 1.0, n_along + 1, dtype=np.float32)
    v = np.linspace(0.0, 1.0, n_around + 1, dtype=np.float32)
    uv = np.stack(np.meshgrid(u, v, indexing="ij"), axis=-1).reshape(-1, 2)
    part = Part(
        vertices=positions.reshape(-1, 3).astype(np.float32),
        faces=grid_faces(n_along, n_around, wrap_along=False, wrap_around=False),
        name="torus-knot",
        normals=radial.reshape(-1, 3).astype(np.float32),
        uv=np.ascontiguousarray(uv, dtype=np.float32),
        material=Material(
            name="glaze",
            base_color=(1.0, 1.0, 1.0, 1.0),
            base_color_texture=Texture(image=glaze_texture(), name="glaze"),
            roughness=0.35,
        ),
    )
    scene = Scene(parts=[part], format=MeshFormat.GLB)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.glb")
    try:
        export(scene, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# ---------------------------------------------------------------------------- files
@contextlib.contextmanager
def _atomic_file(path: Path) -> Iterator[BinaryIO]:
    """Write to a temporary name beside ``path``; rename into place only on success."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            yield f
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _is_complete(model: Model, path: Path) -> bool:
    if not path.is_file():
        return False
    if model.kind == "stl":
        return path.stat().st_size == stl_size(model.n_triangles)
    return path.stat().st_size > 0


def ensure(model: Model, directory: Path = DEFAULT_DIR, *, force: bool = False) -> Path:
    """The model's file in ``directory``, generated unless a complete one is there."""
    directory.mkdir(parents=True, exist_ok=True)
    path = model.path(directory)
    if not force and _is_complete(model, path):
        return path
    print(f"generating {path.name} ({model.n_triangles:,} triangles)…", file=sys.stderr)
    if model.kind == "stl":
        write_stl(model, path)
    else:
        write_glb(model, path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the benchmark's torus-knot models.")
    parser.add_argument("directory", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--force", action="store_true", help="regenerate even if present")
    parser.add_argument("--only", default=",".join(MODELS_BY_KEY), help="comma-separated keys")
    args = parser.parse_args(argv)
    for key in args.only.split(","):
        path = ensure(MODELS_BY_KEY[key.strip()], args.directory, force=args.force)
        print(f"{path}  {path.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
