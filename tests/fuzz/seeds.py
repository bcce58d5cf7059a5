"""Seed files for the mesh reader fuzz run, one per format and variant, written byte by byte.

Each seed is a small valid model (a box) as ``{relative path: bytes}`` plus the name of its
main file, so a seed with companions (OBJ + MTL + texture, glTF + .bin + .png) is one unit
the mutants can damage file by file. Nothing here is read from disk or from a third party.
"""

from __future__ import annotations

import base64
import functools
import io
import json
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from typing import Any

#: The corners of a 1 x 2 x 3 box and its twelve outward-facing triangles.
CORNERS = [(x, y, z) for x in (0.0, 1.0) for y in (0.0, 2.0) for z in (0.0, 3.0)]
TRIANGLES = [
    (0, 1, 3), (0, 3, 2), (4, 6, 7), (4, 7, 5), (0, 4, 5), (0, 5, 1),
    (2, 3, 7), (2, 7, 6), (0, 2, 6), (0, 6, 4), (1, 5, 7), (1, 7, 3),
]  # fmt: skip
UVS = [(u, v) for u in (0.0, 1.0) for v in (0.0, 1.0)] * 2
COLORS = [(0.2 + 0.1 * i, 0.5, 1.0 - 0.1 * i, 1.0) for i in range(8)]


@dataclass(frozen=True)
class Seed:
    """A model file and its companions, by path relative to the model's folder."""

    name: str
    main: str
    files: dict[str, bytes]
    #: For glTF seeds: the JSON tree, so mutants can edit it as JSON.
    gltf: dict[str, Any] | None = field(default=None, compare=False)


def png(width: int = 2, height: int = 2) -> bytes:
    """A valid RGB PNG of one colour, written with zlib (no Pillow needed)."""
    row = b"\0" + b"\xc8\x78\x28" * width
    return _png_chunks(width, height, 2, 8, zlib.compress(row * height))


@functools.cache
def png_bomb(side: int = 30_000) -> bytes:
    """A 1-bit grey PNG of ``side`` x ``side`` pixels that compresses to ~100 KB."""
    row = b"\0" * (1 + (side + 7) // 8)
    packer = zlib.compressobj(9)
    body = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    return _png_chunks(side, side, 0, 1, body)


def _png_chunks(width: int, height: int, color_type: int, depth: int, data: bytes) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def stl_binary() -> Seed:
    body = b"".join(
        struct.pack("<3f", 0, 0, 0)
        + b"".join(struct.pack("<3f", *CORNERS[i]) for i in tri)
        + b"\0\0"
        for tri in TRIANGLES
    )
    data = b"kiln fuzz seed".ljust(80, b"\0") + struct.pack("<I", len(TRIANGLES)) + body
    return Seed("stl-binary", "box.stl", {"box.stl": data})


def stl_ascii() -> Seed:
    lines = ["solid box"]
    for tri in TRIANGLES:
        lines += ["  facet normal 0 0 0", "    outer loop"]
        lines += ["      vertex {} {} {}".format(*CORNERS[i]) for i in tri]
        lines += ["    endloop", "  endfacet"]
    text = "\n".join([*lines, "endsolid box", ""])
    return Seed("stl-ascii", "box.stl", {"box.stl": text.encode()})


def obj_with_mtl_and_texture() -> Seed:
    lines = ["mtllib box.mtl", "o box"]
    lines += ["v {} {} {}".format(*c) for c in CORNERS]
    lines += ["vt {} {}".format(*uv) for uv in UVS]
    lines += ["usemtl wood"]
    lines += ["f " + " ".join(f"{i + 1}/{i + 1}" for i in tri) for tri in TRIANGLES]
    mtl = "newmtl wood\nKd 0.8 0.6 0.4\nmap_Kd textures/wood.png\n"
    files = {
        "box.obj": ("\n".join(lines) + "\n").encode(),
        "box.mtl": mtl.encode(),
        "textures/wood.png": png(),
    }
    return Seed("obj-mtl-texture", "box.obj", files)


def ply_ascii() -> Seed:
    header = [
        "ply",
        "format ascii 1.0",
        f"element vertex {len(CORNERS)}",
        "property float x",
        "property float y",
        "property float z",
        f"element face {len(TRIANGLES)}",
        "property list uchar int vertex_indices",
        "end_header",
    ]
    body = ["{} {} {}".format(*c) for c in CORNERS] + ["3 {} {} {}".format(*t) for t in TRIANGLES]
    return Seed("ply-ascii", "box.ply", {"box.ply": ("\n".join(header + body) + "\n").encode()})


def ply_binary() -> Seed:
    header = (
        "ply\nformat binary_little_endian 1.0\n"
        f"element vertex {len(CORNERS)}\nproperty float x\nproperty float y\nproperty float z\n"
        "property uchar red\nproperty uchar green\nproperty uchar blue\n"
        f"element face {len(TRIANGLES)}\nproperty list uchar int vertex_indices\nend_header\n"
    ).encode()
    vertices = b"".join(struct.pack("<3f3B", *c, 200, 100, 50) for c in CORNERS)
    faces = b"".join(struct.pack("<B3i", 3, *t) for t in TRIANGLES)
    return Seed("ply-binary", "box.ply", {"box.ply": header + vertices + faces})


def off() -> Seed:
    lines = ["OFF", f"{len(CORNERS)} {len(TRIANGLES)} 0"]
    lines += ["{} {} {}".format(*c) for c in CORNERS]
    lines += ["3 {} {} {}".format(*t) for t in TRIANGLES]
    return Seed("off", "box.off", {"box.off": ("\n".join(lines) + "\n").encode()})


# -- glTF -------------------------------------------------------------------------------------


def gltf_tree(*, external: bool) -> tuple[dict[str, Any], bytes, bytes]:
    """(JSON tree, binary buffer, texture) of a textured, vertex-coloured box placed twice."""
    texture = png()
    views: list[bytes] = [
        b"".join(struct.pack("<3f", *c) for c in CORNERS),
        b"".join(struct.pack("<2f", *uv) for uv in UVS),
        b"".join(struct.pack("<4f", *c) for c in COLORS),
        b"".join(struct.pack("<3H", *t) for t in TRIANGLES),
    ]
    if not external:
        views.append(texture)
    buffer = b""
    buffer_views = []
    for index, view in enumerate(views):
        buffer_views.append({"buffer": 0, "byteOffset": len(buffer), "byteLength": len(view)})
        if index == 3:
            buffer_views[-1]["target"] = 34963
        buffer += view + b"\0" * (-len(view) % 4)
    accessors = [
        {"bufferView": 0, "componentType": 5126, "count": 8, "type": "VEC3",
         "min": [0.0, 0.0, 0.0], "max": [1.0, 2.0, 3.0]},
        {"bufferView": 1, "componentType": 5126, "count": 8, "type": "VEC2"},
        {"bufferView": 2, "componentType": 5126, "count": 8, "type": "VEC4"},
        {"bufferView": 3, "componentType": 5123, "count": 36, "type": "SCALAR"},
    ]  # fmt: skip
    tree: dict[str, Any] = {
        "asset": {"version": "2.0", "generator": "kiln fuzz seed"},
        "scene": 0,
        "scenes": [{"nodes": [0, 1]}],
        "nodes": [
            {"mesh": 0, "name": "box"},
            {"mesh": 0, "name": "box moved", "translation": [3.0, 0.0, 0.0]},
        ],
        "meshes": [
            {
                "name": "box",
                "primitives": [
                    {
                        "attributes": {"POSITION": 0, "TEXCOORD_0": 1, "COLOR_0": 2},
                        "indices": 3,
                        "material": 0,
                    }
                ],
            }
        ],
        "materials": [
            {
                "name": "wood",
                "pbrMetallicRoughness": {
                    "baseColorFactor": [1.0, 0.9, 0.8, 1.0],
                    "baseColorTexture": {"index": 0},
                    "metallicFactor": 0.0,
                },
            }
        ],
        "textures": [{"source": 0}],
        "images": [{"uri": "tex.png"} if external else {"bufferView": 4, "mimeType": "image/png"}],
        "accessors": accessors,
        "bufferViews": buffer_views,
        "buffers": [{"byteLength": len(buffer), **({"uri": "box.bin"} if external else {})}],
    }
    return tree, buffer, texture


def glb_bytes(tree: dict[str, Any], buffer: bytes) -> bytes:
    """A GLB container: header, JSON chunk (space-padded), BIN chunk (zero-padded)."""
    text = json.dumps(tree, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)
    binary = buffer + b"\0" * (-len(buffer) % 4)
    chunks = struct.pack("<I4s", len(text), b"JSON") + text
    if binary:
        chunks += struct.pack("<I4s", len(binary), b"BIN\0") + binary
    return struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks


def glb() -> Seed:
    tree, buffer, _texture = gltf_tree(external=False)
    return Seed("glb", "box.glb", {"box.glb": glb_bytes(tree, buffer)}, gltf=tree)


def gltf_with_bin() -> Seed:
    tree, buffer, texture = gltf_tree(external=True)
    files = {
        "box.gltf": json.dumps(tree, indent=1).encode(),
        "box.bin": buffer,
        "tex.png": texture,
    }
    return Seed("gltf-bin", "box.gltf", files, gltf=tree)


def data_uri(data: bytes, mime: str = "application/octet-stream") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


# -- 3MF --------------------------------------------------------------------------------------

CORE_NS = "http://schemas.microsoft.com/3dmanufacturing/core/2015/02"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="model" '
    'ContentType="application/vnd.ms-package.3dmanufacturing-3dmodel+xml"/></Types>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Target="/3D/3dmodel.model" Id="rel0" '
    'Type="http://schemas.microsoft.com/3dmanufacturing/2013/01/3dmodel"/></Relationships>'
)


def box_object(object_id: int = 1, *, colour: bool = True) -> str:
    vertices = "".join('<vertex x="{}" y="{}" z="{}"/>'.format(*c) for c in CORNERS)
    triangles = "".join('<triangle v1="{}" v2="{}" v3="{}"/>'.format(*t) for t in TRIANGLES)
    pid = ' pid="9" pindex="0"' if colour else ""
    return (
        f'<object id="{object_id}" type="model" name="box"{pid}><mesh>'
        f"<vertices>{vertices}</vertices><triangles>{triangles}</triangles></mesh></object>"
    )


def model_xml(resources: str, build: str, *, unit: str = "millimeter") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><model unit="{unit}" xml:lang="en-US" '
        f'xmlns="{CORE_NS}"><resources>'
        '<basematerials id="9"><base name="Orange" displaycolor="#F08020"/></basematerials>'
        f"{resources}</resources><build>{build}</build></model>"
    )


def zip_bytes(entries: dict[str, bytes | str], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()


def threemf_bytes(model: str | bytes, **extra: bytes | str) -> bytes:
    entries: dict[str, bytes | str] = {
        "[Content_Types].xml": CONTENT_TYPES,
        "_rels/.rels": RELS,
        "3D/3dmodel.model": model,
    }
    entries.update(extra)
    return zip_bytes(entries)


def threemf() -> Seed:
    """A box, and an assembly placing it twice through components, on the build plate."""
    assembly = (
        '<object id="2" type="model" name="pair"><components>'
        '<component objectid="1"/>'
        '<component objectid="1" transform="1 0 0 0 1 0 0 0 1 5 0 0"/>'
        "</components></object>"
    )
    model = model_xml(
        box_object() + assembly,
        '<item objectid="2" transform="1 0 0 0 1 0 0 0 1 0 0 1"/><item objectid="1"/>',
    )
    return Seed("3mf", "box.3mf", {"box.3mf": threemf_bytes(model)})


def all_seeds() -> list[Seed]:
    return [
        stl_binary(),
        stl_ascii(),
        obj_with_mtl_and_texture(),
        glb(),
        gltf_with_bin(),
        ply_ascii(),
        ply_binary(),
        off(),
        threemf(),
    ]
