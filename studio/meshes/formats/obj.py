"""Wavefront OBJ with its MTL materials and textures.

trimesh parses the text; a :class:`FolderResolver` hands it the MTL and texture files,
and only those inside the model's folder. Objects, groups and materials become parts.
"""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import numpy as np
import trimesh
from PIL import Image

from studio.atomic import write_atomic
from studio.meshes.formats.trimesh_bridge import FolderResolver, parts_from_scene
from studio.meshes.request import ReadRequest
from studio.meshes.scene import Material, MeshFormat, Part, Scene
from studio.meshes.sniff import text_bytes


def read(request: ReadRequest) -> Scene:
    """Read an OBJ file (and the MTL/texture files beside it)."""
    request.progress(0.0, "Reading file")
    resolver = FolderResolver(request.path.parent, request.notes, request.limits)
    # UTF-16 files (with a byte-order mark) become UTF-8 for trimesh's parser.
    data = text_bytes(request.path.read_bytes())
    with warnings.catch_warnings():
        # Images reach trimesh within the texture limit, which may be above Pillow's own.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        loaded = trimesh.load_scene(
            io.BytesIO(data),
            file_type="obj",
            resolver=resolver,
            process=False,
            split_objects=True,
            split_groups=True,
        )
    request.cancel.raise_if_cancelled()
    request.progress(0.8, "Reading file")
    parts = parts_from_scene(loaded, reverse=True)
    _drop_material_suffixes(parts)
    return Scene(parts, MeshFormat.OBJ)


def _drop_material_suffixes(parts: list[Part]) -> None:
    """trimesh names parts "object_material"; show "object" when that stays unique."""
    shortened = []
    for part in parts:
        suffix = f"_{part.material.name}" if part.material is not None else ""
        cut = part.name[: -len(suffix)] if suffix and part.name.endswith(suffix) else part.name
        shortened.append(cut or part.name)
    if len(set(shortened)) == len(shortened):
        for part, name in zip(parts, shortened, strict=True):
            part.name = name


def _safe_name(name: str, fallback: str, taken: set[str]) -> str:
    """A name OBJ/MTL can hold in one word (and a file name can use), unique in ``taken``."""
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_.") or fallback
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}_{n}"
    taken.add(candidate)
    return candidate


def write(scene: Scene, path: Path) -> list[Path]:
    """Write an OBJ, plus ``name.mtl`` and PNG textures beside it when parts have materials.

    Returns every file written, the OBJ last (it is written after what it refers to).
    """
    written: list[Path] = []
    materials: dict[int, str] = {}
    mtl = io.StringIO()
    names: set[str] = set()
    default = Material(name="default")
    for part in scene.parts:
        # Every part gets a usemtl: OBJ's material state would otherwise leak into the next.
        material = part.material or default
        if id(material) in materials:
            continue
        name = _safe_name(material.name, "material", names)
        materials[id(material)] = name
        r, g, b, a = material.base_color
        mtl.write(f"newmtl {name}\nKa 0 0 0\nKd {r:.6g} {g:.6g} {b:.6g}\n")
        mtl.write(f"Ks 0 0 0\nd {a:.6g}\nillum 1\n")
        mtl.write(f"Ns {(1.0 - material.roughness) * 1000:.6g}\n")
        if material.base_color_texture is not None:
            texture_path = path.with_name(f"{path.stem}_{name}.png")
            png = io.BytesIO()
            Image.fromarray(material.base_color_texture.image).save(png, format="PNG")
            write_atomic(texture_path, png.getvalue())
            written.append(texture_path)
            mtl.write(f"map_Kd {texture_path.name}\n")
        mtl.write("\n")
    out = io.StringIO()
    out.write("# Written by Kiln Studio\n")
    if materials:
        mtl_path = path.with_suffix(".mtl")
        write_atomic(mtl_path, mtl.getvalue().encode("utf-8"))
        written.append(mtl_path)
        out.write(f"mtllib {mtl_path.name}\n")
    offsets = {"v": 1, "vt": 1, "vn": 1}
    part_names: set[str] = set()
    for index, part in enumerate(scene.parts):
        out.write(f"o {_safe_name(part.name, f'part_{index + 1}', part_names)}\n")
        _write_part(out, part, offsets, materials[id(part.material or default)])
    write_atomic(path, out.getvalue().encode("utf-8"))
    written.append(path)
    return written


def _write_part(out: io.StringIO, part: Part, offsets: dict[str, int], material: str) -> None:
    vertices = part.vertices.astype(np.float64)
    if part.colors is not None:
        colors = part.colors[:, :3].astype(np.float64) / 255.0
        np.savetxt(out, np.column_stack([vertices, colors]), fmt="v %.9g %.9g %.9g %.4g %.4g %.4g")
    else:
        np.savetxt(out, vertices, fmt="v %.9g %.9g %.9g")
    columns = []
    faces = part.face_indices().astype(np.int64)
    columns.append(faces + offsets["v"])
    offsets["v"] += part.n_vertices
    if part.uv is not None:
        np.savetxt(out, part.uv.astype(np.float64), fmt="vt %.9g %.9g")
        columns.append(faces + offsets["vt"])
        offsets["vt"] += part.n_vertices
    if part.normals is not None:
        np.savetxt(out, part.normals.astype(np.float64), fmt="vn %.6g %.6g %.6g")
        columns.append(faces + offsets["vn"])
        offsets["vn"] += part.n_vertices
    out.write(f"usemtl {material}\n")
    if part.uv is not None and part.normals is not None:
        corner = "%d/%d/%d"
    elif part.uv is not None:
        corner = "%d/%d"
    elif part.normals is not None:
        corner = "%d//%d"
    else:
        corner = "%d"
    # Interleave so each row reads v1 vt1 vn1 v2 vt2 vn2 v3 vt3 vn3.
    table = np.stack(columns, axis=2).reshape(len(faces), -1)
    np.savetxt(out, table, fmt="f " + " ".join([corner] * 3))
