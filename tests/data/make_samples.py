"""Regenerate the small sample models in tests/data.

Run ``python tests/data/make_samples.py`` from the repository root. The samples are
written by *other* writers than Kiln Studio's exporters (trimesh, hand-written text,
``struct``), so loading them tests our readers against files we did not produce.
"""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import numpy as np
import trimesh
from PIL import Image

HERE = Path(__file__).resolve().parent


def checker(size: int, a: tuple[int, ...], b: tuple[int, ...]) -> np.ndarray:
    """An RGB(A) checkerboard, 4x4 squares."""
    y, x = np.mgrid[0:size, 0:size]
    board = ((x // (size // 4)) + (y // (size // 4))) % 2 == 0
    out = np.where(board[..., None], np.array(a, np.uint8), np.array(b, np.uint8))
    # A gradient in the red channel makes rows distinguishable (catches a flipped image).
    out[..., 0] = np.linspace(0, 255, size).astype(np.uint8)[:, None]
    return out.astype(np.uint8)


def cube_text_stl() -> str:
    box = trimesh.creation.box((10, 20, 30))
    lines = ["solid cube"]
    for face, normal in zip(box.faces, box.face_normals, strict=True):
        lines.append(f"  facet normal {normal[0]:e} {normal[1]:e} {normal[2]:e}")
        lines.append("    outer loop")
        for vertex in box.vertices[face]:
            lines.append(f"      vertex {vertex[0]:e} {vertex[1]:e} {vertex[2]:e}")
        lines.append("    endloop")
        lines.append("  endfacet")
    lines.append("endsolid cube")
    return "\n".join(lines) + "\n"


def write_ascii_stl() -> None:
    (HERE / "cube_ascii.stl").write_text(cube_text_stl())
    # Two solids in one file: two parts.
    # (replacing "solid cube" also renames its "endsolid cube" line)
    second = cube_text_stl().replace("solid cube", "solid lid")
    (HERE / "two_solids_ascii.stl").write_text(cube_text_stl() + second)


def write_binary_stl_with_solid_header() -> None:
    mesh = trimesh.creation.icosphere(subdivisions=2, radius=15.0)
    tris = mesh.triangles.astype("<f4")
    header = b"solid exported by a CAD tool that writes solid in binary headers".ljust(80)
    with (HERE / "sphere_solid_header.stl").open("wb") as fh:
        fh.write(header[:80])
        fh.write(struct.pack("<I", len(tris)))
        for normal, tri in zip(mesh.face_normals.astype("<f4"), tris, strict=True):
            fh.write(normal.tobytes() + tri.tobytes() + b"\x00\x00")


def write_textured_obj() -> None:
    Image.fromarray(checker(64, (250, 220, 180), (120, 60, 30))).save(HERE / "crate.png")
    (HERE / "crate.mtl").write_text(
        "newmtl wood\nKa 0 0 0\nKd 0.8 0.8 0.8\nKs 0 0 0\nd 1\nmap_Kd crate.png\n"
    )
    box = trimesh.creation.box((20, 20, 20))
    lines = ["# textured crate", "mtllib crate.mtl", "o crate"]
    lines += [f"v {x:g} {y:g} {z:g}" for x, y, z in box.vertices]
    lines += ["vt 0 0", "vt 1 0", "vt 1 1", "vt 0 1"]
    lines.append("usemtl wood")
    for i, (a, b, c) in enumerate(box.faces):
        t = (1, 2, 3) if i % 2 == 0 else (1, 3, 4)
        lines.append(f"f {a + 1}/{t[0]} {b + 1}/{t[1]} {c + 1}/{t[2]}")
    (HERE / "crate.obj").write_text("\n".join(lines) + "\n")


def write_multipart_obj() -> None:
    a = trimesh.creation.box((10, 10, 10))
    b = trimesh.creation.icosphere(subdivisions=1, radius=5.0)
    b.apply_translation((20, 0, 0))
    lines = ["mtllib parts.mtl"]
    offset = 1
    for name, material, mesh in (("base", "grey", a), ("ball", "red", b)):
        lines.append(f"o {name}")
        lines += [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in mesh.vertices]
        lines.append(f"usemtl {material}")
        lines += [f"f {i + offset} {j + offset} {k + offset}" for i, j, k in mesh.faces]
        offset += len(mesh.vertices)
    (HERE / "parts.obj").write_text("\n".join(lines) + "\n")
    (HERE / "parts.mtl").write_text("newmtl grey\nKd 0.5 0.5 0.5\n\nnewmtl red\nKd 0.9 0.1 0.1\n")


def write_pbr_glb() -> None:
    mesh = trimesh.creation.icosphere(subdivisions=2, radius=10.0)
    # Spherical UVs; exact values don't matter, only that they round-trip.
    v = mesh.vertices / 10.0
    uv = np.column_stack([0.5 + np.arctan2(v[:, 1], v[:, 0]) / (2 * np.pi), 0.5 + v[:, 2] / 2])
    material = trimesh.visual.material.PBRMaterial(
        name="glaze",
        baseColorFactor=[255, 255, 255, 255],
        baseColorTexture=Image.fromarray(checker(32, (230, 120, 60), (40, 90, 160))),
        metallicFactor=0.2,
        roughnessFactor=0.5,
        metallicRoughnessTexture=Image.fromarray(checker(16, (0, 200, 40), (0, 60, 200))),
        normalTexture=Image.fromarray(np.full((8, 8, 3), (128, 128, 255), np.uint8)),
        emissiveTexture=Image.fromarray(checker(8, (10, 10, 0), (0, 0, 0))),
        emissiveFactor=[1.0, 1.0, 1.0],
        occlusionTexture=Image.fromarray(np.full((8, 8, 3), 220, np.uint8)),
    )
    mesh.visual = trimesh.visual.TextureVisuals(uv=uv, material=material)
    (HERE / "glazed_ball.glb").write_bytes(trimesh.exchange.gltf.export_glb(mesh))


def write_multipart_glb() -> None:
    scene = trimesh.Scene()
    box = trimesh.creation.box((10, 10, 10))
    box.visual.face_colors = [200, 50, 50, 255]
    cone = trimesh.creation.cone(radius=4.0, height=12.0, sections=24)
    moved = np.eye(4)
    moved[:3, 3] = (30.0, 0.0, 0.0)
    scene.add_geometry(box, geom_name="box", node_name="box")
    scene.add_geometry(cone, geom_name="cone", node_name="cone", transform=moved)
    (HERE / "box_and_cone.glb").write_bytes(trimesh.exchange.gltf.export_glb(scene))


def write_ply() -> None:
    mesh = trimesh.creation.icosphere(subdivisions=1, radius=8.0)
    colors = np.column_stack(
        [
            np.linspace(0, 255, len(mesh.vertices)),
            np.full(len(mesh.vertices), 128),
            np.linspace(255, 0, len(mesh.vertices)),
            np.full(len(mesh.vertices), 255),
        ]
    ).astype(np.uint8)
    mesh.visual.vertex_colors = colors
    (HERE / "ball_ascii.ply").write_bytes(trimesh.exchange.ply.export_ply(mesh, encoding="ascii"))
    (HERE / "ball_binary.ply").write_bytes(trimesh.exchange.ply.export_ply(mesh, encoding="binary"))
    # Big-endian, hand-made: trimesh only writes little-endian.
    header = (
        "ply\nformat binary_big_endian 1.0\n"
        f"element vertex {len(mesh.vertices)}\n"
        "property float x\nproperty float y\nproperty float z\n"
        "property uchar red\nproperty uchar green\nproperty uchar blue\n"
        f"element face {len(mesh.faces)}\n"
        "property list uchar int vertex_indices\nend_header\n"
    )
    vertex = np.empty(
        len(mesh.vertices),
        dtype=[("p", ">f4", (3,)), ("c", "u1", (3,))],
    )
    vertex["p"] = mesh.vertices
    vertex["c"] = colors[:, :3]
    face = np.empty(len(mesh.faces), dtype=[("n", "u1"), ("i", ">i4", (3,))])
    face["n"] = 3
    face["i"] = mesh.faces
    (HERE / "ball_big_endian.ply").write_bytes(
        header.encode("ascii") + vertex.tobytes() + face.tobytes()
    )


def write_off() -> None:
    # A cube of quads (split into triangles on load), with per-vertex colours (COFF).
    corners = [(x, y, z) for z in (0, 1) for y in (0, 1) for x in (0, 1)]
    quads = [(0, 2, 3, 1), (4, 5, 7, 6), (0, 1, 5, 4), (2, 6, 7, 3), (0, 4, 6, 2), (1, 3, 7, 5)]
    lines = ["COFF", "# a unit cube", f"{len(corners)} {len(quads)} 12"]
    lines += [f"{x} {y} {z} {x * 255} {y * 255} {z * 255} 255" for x, y, z in corners]
    lines += ["4 " + " ".join(str(i) for i in quad) for quad in quads]
    (HERE / "cube.off").write_text("\n".join(lines) + "\n")


MODEL_3MF = """<?xml version="1.0" encoding="UTF-8"?>
<model unit="inch" xml:lang="en-US"
 xmlns="http://schemas.microsoft.com/3dmanufacturing/core/2015/02">
 <resources>
  <basematerials id="1">
   <base name="Blue" displaycolor="#2050C0FF"/>
   <base name="Orange" displaycolor="#F08020"/>
  </basematerials>
  <object id="2" type="model" name="wedge" pid="1" pindex="0">
   <mesh>
    <vertices>
     <vertex x="0" y="0" z="0"/>
     <vertex x="1" y="0" z="0"/>
     <vertex x="0" y="1" z="0"/>
     <vertex x="0" y="0" z="1"/>
    </vertices>
    <triangles>
     <triangle v1="0" v2="2" v3="1"/>
     <triangle v1="0" v2="1" v3="3"/>
     <triangle v1="0" v2="3" v3="2"/>
     <triangle v1="1" v2="2" v3="3"/>
    </triangles>
   </mesh>
  </object>
  <object id="3" type="model" name="pair">
   <components>
    <component objectid="2"/>
    <component objectid="2" transform="1 0 0 0 1 0 0 0 1 5 0 0"/>
   </components>
  </object>
  <object id="4" type="model" name="plate" pid="1" pindex="1">
   <mesh>
    <vertices>
     <vertex x="0" y="0" z="0"/>
     <vertex x="2" y="0" z="0"/>
     <vertex x="2" y="2" z="0"/>
     <vertex x="0" y="2" z="0"/>
     <vertex x="0" y="0" z="0.25"/>
     <vertex x="2" y="0" z="0.25"/>
     <vertex x="2" y="2" z="0.25"/>
     <vertex x="0" y="2" z="0.25"/>
    </vertices>
    <triangles>
     <triangle v1="0" v2="2" v3="1"/><triangle v1="0" v2="3" v3="2"/>
     <triangle v1="4" v2="5" v3="6"/><triangle v1="4" v2="6" v3="7"/>
     <triangle v1="0" v2="1" v3="5"/><triangle v1="0" v2="5" v3="4"/>
     <triangle v1="1" v2="2" v3="6"/><triangle v1="1" v2="6" v3="5"/>
     <triangle v1="2" v2="3" v3="7"/><triangle v1="2" v2="7" v3="6"/>
     <triangle v1="3" v2="0" v3="4"/><triangle v1="3" v2="4" v3="7"/>
    </triangles>
   </mesh>
  </object>
 </resources>
 <build>
  <item objectid="3" transform="1 0 0 0 1 0 0 0 1 0 0 1"/>
  <item objectid="4" transform="0 1 0 -1 0 0 0 0 1 10 10 0"/>
 </build>
</model>
"""
CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
 <Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
 <Default Extension="model" ContentType="application/vnd.ms-package.3dmanufacturing-3dmodel+xml"/>
</Types>
"""
RELS = """<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
 <Relationship Target="/3D/3dmodel.model" Id="rel0"
  Type="http://schemas.microsoft.com/3dmanufacturing/2013/01/3dmodel"/>
</Relationships>
"""


def write_3mf() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", RELS)
        archive.writestr("3D/3dmodel.model", MODEL_3MF)
    (HERE / "wedges_and_plate.3mf").write_bytes(buffer.getvalue())


def main() -> None:
    write_ascii_stl()
    write_binary_stl_with_solid_header()
    write_textured_obj()
    write_multipart_obj()
    write_pbr_glb()
    write_multipart_glb()
    write_ply()
    write_off()
    write_3mf()
    for path in sorted(HERE.iterdir()):
        if path.suffix != ".py":
            print(f"{path.name:28} {path.stat().st_size:>8} bytes")


if __name__ == "__main__":
    main()
