"""glTF 2.0 files written by hand (JSON plus one binary buffer), for the glTF reader's tests.

Not Kiln Studio's own writer: building the JSON here keeps each test's file exactly as
the test says (extensions, odd accessors, thousands of nodes), byte for byte.
"""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

_COMPONENT = {
    np.dtype(np.int8): 5120,
    np.dtype(np.uint8): 5121,
    np.dtype(np.int16): 5122,
    np.dtype(np.uint16): 5123,
    np.dtype(np.uint32): 5125,
    np.dtype(np.float32): 5126,
}
_KIND = {1: "SCALAR", 2: "VEC2", 3: "VEC3", 4: "VEC4"}


class GltfFile:
    """A glTF document under construction; ``tree`` may be edited freely before writing."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {"asset": {"version": "2.0", "generator": "kiln tests"}}
        self.blob = bytearray()

    def _list(self, key: str) -> list[Any]:
        entries: list[Any] = self.tree.setdefault(key, [])
        return entries

    def view(self, data: bytes) -> int:
        self.blob += b"\x00" * (-len(self.blob) % 4)
        views = self._list("bufferViews")
        views.append({"buffer": 0, "byteOffset": len(self.blob), "byteLength": len(data)})
        self.blob += data
        return len(views) - 1

    def accessor(self, array: np.ndarray, kind: str | None = None, **extra: Any) -> int:
        """An accessor over a tightly packed copy of ``array`` (one row per element)."""
        array = np.ascontiguousarray(array)
        rows = array.reshape(array.shape[0], -1)
        entry: dict[str, Any] = {
            "bufferView": self.view(rows.astype(rows.dtype.newbyteorder("<")).tobytes()),
            "componentType": _COMPONENT[array.dtype],
            "count": int(rows.shape[0]),
            "type": kind or _KIND[rows.shape[1]],
            **extra,
        }
        if array.dtype == np.float32 and rows.shape[0] and np.isfinite(rows).all():
            entry.setdefault("min", [float(v) for v in rows.min(axis=0)])
            entry.setdefault("max", [float(v) for v in rows.max(axis=0)])
        accessors = self._list("accessors")
        accessors.append(entry)
        return len(accessors) - 1

    def primitive(
        self,
        positions: np.ndarray,
        faces: np.ndarray | None = None,
        *,
        uv: np.ndarray | None = None,
        normals: np.ndarray | None = None,
        colors: np.ndarray | None = None,
        material: int | None = None,
        mode: int | None = None,
    ) -> dict[str, Any]:
        attributes = {"POSITION": self.accessor(np.asarray(positions, dtype=np.float32))}
        if normals is not None:
            attributes["NORMAL"] = self.accessor(np.asarray(normals, dtype=np.float32))
        if uv is not None:
            attributes["TEXCOORD_0"] = self.accessor(np.asarray(uv, dtype=np.float32))
        if colors is not None:
            attributes["COLOR_0"] = self.accessor(colors, normalized=colors.dtype != np.float32)
        primitive: dict[str, Any] = {"attributes": attributes}
        if faces is not None:
            primitive["indices"] = self.accessor(
                np.asarray(faces, dtype=np.uint32).reshape(-1), "SCALAR"
            )
        if material is not None:
            primitive["material"] = material
        if mode is not None:
            primitive["mode"] = mode
        return primitive

    def mesh(self, *primitives: dict[str, Any], name: str | None = None) -> int:
        entry: dict[str, Any] = {"primitives": list(primitives)}
        if name is not None:
            entry["name"] = name
        meshes = self._list("meshes")
        meshes.append(entry)
        return len(meshes) - 1

    def node(self, mesh: int | None = None, **fields: Any) -> int:
        entry = dict(fields)
        if mesh is not None:
            entry["mesh"] = mesh
        nodes = self._list("nodes")
        nodes.append(entry)
        return len(nodes) - 1

    def scene(self, *nodes: int) -> None:
        self.tree["scene"] = 0
        self.tree["scenes"] = [{"nodes": list(nodes)}]

    def image(self, pixels: np.ndarray | bytes, *, name: str | None = None) -> int:
        """A texture whose image is PNG bytes (or ``pixels`` as given) in a buffer view."""
        if isinstance(pixels, bytes):
            data = pixels
        else:
            buffer = io.BytesIO()
            Image.fromarray(pixels).save(buffer, format="PNG")
            data = buffer.getvalue()
        images = self._list("images")
        image: dict[str, Any] = {"bufferView": self.view(data), "mimeType": "image/png"}
        if name:
            image["name"] = name
        images.append(image)
        textures = self._list("textures")
        textures.append({"source": len(images) - 1})
        return len(textures) - 1

    def material(self, **fields: Any) -> int:
        materials = self._list("materials")
        materials.append(fields)
        return len(materials) - 1

    def use_extension(self, name: str, *, required: bool = False) -> None:
        used = self._list("extensionsUsed")
        if name not in used:
            used.append(name)
        if required:
            needed = self._list("extensionsRequired")
            if name not in needed:
                needed.append(name)

    def _with_buffer(self, uri: str | None) -> dict[str, Any]:
        tree = json.loads(json.dumps(self.tree))
        if self.blob:
            buffer: dict[str, Any] = {"byteLength": len(self.blob)}
            if uri is not None:
                buffer["uri"] = uri
            tree["buffers"] = [buffer]
        return tree

    def glb(self) -> bytes:
        text = json.dumps(self._with_buffer(None)).encode("utf-8")
        text += b" " * (-len(text) % 4)
        blob = bytes(self.blob) + b"\x00" * (-len(self.blob) % 4)
        chunks = struct.pack("<I4s", len(text), b"JSON") + text
        if blob:
            chunks += struct.pack("<I4s", len(blob), b"BIN\x00") + blob
        return struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks

    def gltf(self) -> str:
        """JSON with the buffer embedded as a base64 data URI."""
        uri = "data:application/octet-stream;base64," + base64.b64encode(self.blob).decode()
        return json.dumps(self._with_buffer(uri))

    def write(self, path: Path) -> Path:
        if path.suffix.lower() == ".glb":
            path.write_bytes(self.glb())
        else:
            path.write_text(self.gltf(), encoding="utf-8")
        return path


def cube() -> tuple[np.ndarray, np.ndarray]:
    """A unit cube centred on the origin, outward winding: 8 vertices, 12 triangles."""
    v = np.array(
        [[x, y, z] for z in (-0.5, 0.5) for y in (-0.5, 0.5) for x in (-0.5, 0.5)],
        dtype=np.float32,
    )
    f = np.array(
        [
            [0, 2, 1], [1, 2, 3], [4, 5, 6], [5, 7, 6],
            [0, 1, 4], [1, 5, 4], [2, 6, 3], [3, 6, 7],
            [0, 4, 2], [2, 4, 6], [1, 3, 5], [3, 7, 5],
        ],
        dtype=np.uint32,
    )  # fmt: skip
    return v, f


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims ``width`` × ``height`` pixels and holds almost none: a bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
