"""Real, small result files the emulators serve from their own origin.

The model is a 1 m textured box (per-face UVs, an 8x8 checker base-colour texture) written
by Kiln Studio's own exporter (:func:`studio.meshes.export.export`), so a client can load
what it downloads. Formats the studio cannot write (FBX, USDZ, .blend) are *stubs*: bytes
with the right magic/container but no geometry. Everything is built once, lazily, and
cached for the process.
"""

from __future__ import annotations

import io
import json
import struct
import tempfile
import threading
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from studio.meshes.export import export
from studio.meshes.scene import Material, MeshFormat, Part, Scene, Texture

#: Content types by file extension.
CONTENT_TYPES = {
    "glb": "model/gltf-binary",
    "obj": "text/plain",
    "mtl": "text/plain",
    "stl": "model/stl",
    "3mf": "model/3mf",
    "fbx": "application/octet-stream",
    "usdz": "model/vnd.usdz+zip",
    "blend": "application/octet-stream",
    "png": "image/png",
}

_lock = threading.Lock()
_cache: dict[str, bytes] = {}


def _checker(size: int = 8) -> np.ndarray:
    image = np.zeros((size, size, 3), dtype=np.uint8)
    for y in range(size):
        for x in range(size):
            image[y, x] = (200, 120, 40) if (x + y) % 2 else (240, 220, 180)
    return image


def _box_part(*, textured: bool) -> Part:
    """A unit box centred on the origin with 4 own vertices per face (so UVs are per face)."""
    corners = np.array(
        [[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)],
        dtype=np.float32,
    )
    # Each face: 4 corner indices counter-clockwise seen from outside.
    quads = [
        (0, 1, 3, 2),  # -x
        (4, 6, 7, 5),  # +x
        (0, 4, 5, 1),  # -y
        (2, 3, 7, 6),  # +y
        (0, 2, 6, 4),  # -z
        (1, 5, 7, 3),  # +z
    ]
    vertices, faces, uv = [], [], []
    for quad in quads:
        base = len(vertices)
        vertices.extend(corners[i] for i in quad)
        uv.extend([(0, 0), (1, 0), (1, 1), (0, 1)])
        faces.extend([(base, base + 1, base + 2), (base, base + 2, base + 3)])
    material = Material(name="emulated", base_color=(0.9, 0.6, 0.3, 1.0))
    if textured:
        material = Material(
            name="emulated",
            base_color=(1.0, 1.0, 1.0, 1.0),
            base_color_texture=Texture(image=_checker(), name="base_color"),
        )
    return Part(
        vertices=np.asarray(vertices, dtype=np.float32),
        faces=np.asarray(faces, dtype=np.int32),
        uv=np.asarray(uv, dtype=np.float32) if textured else None,
        material=material,
        name="box",
    )


def _export(ext: str, *, textured: bool) -> bytes:
    # Providers deliver glTF in metres, about a metre across.
    scene = Scene(parts=[_box_part(textured=textured)], format=MeshFormat.GLB, unit="meter")
    with tempfile.TemporaryDirectory(prefix="kiln-emu-") as tmp:
        path = Path(tmp) / f"model.{ext}"
        written = export(scene, path)
        if ext == "obj":
            mtl = next((p for p in written if p.suffix == ".mtl"), None)
            _cache["mtl"] = mtl.read_bytes() if mtl else b""
        return path.read_bytes()


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def _render() -> bytes:
    """A 256x256 'render' of the box: three shaded faces in isometric view."""
    image = Image.new("RGB", (256, 256), (40, 44, 52))
    draw = ImageDraw.Draw(image)
    top = [(128, 40), (216, 88), (128, 136), (40, 88)]
    left = [(40, 88), (128, 136), (128, 232), (40, 184)]
    right = [(128, 136), (216, 88), (216, 184), (128, 232)]
    draw.polygon(top, fill=(240, 220, 180))
    draw.polygon(left, fill=(200, 120, 40))
    draw.polygon(right, fill=(150, 90, 30))
    return _png(image)


def _flat(color: tuple[int, int, int], size: int = 16) -> bytes:
    return _png(Image.new("RGB", (size, size), color))


def _usdz_stub() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("model.usda", '#usda 1.0\n(\n    doc = "Kiln emulator stub"\n)\n')
    return out.getvalue()


def _build(name: str) -> bytes:
    if name == "glb":
        return _export("glb", textured=True)
    if name == "glb-plain":
        return _export("glb", textured=False)
    if name == "obj":
        return _export("obj", textured=False)
    if name == "mtl":
        _build_cached("obj")
        return _cache["mtl"]
    if name == "stl":
        return _export("stl", textured=False)
    if name == "3mf":
        return _export("3mf", textured=False)
    if name == "fbx":
        return b"Kaydara FBX Binary  \x00\x1a\x00" + (7400).to_bytes(4, "little") + b"\x00" * 64
    if name == "usdz":
        return _usdz_stub()
    if name == "blend":
        return b"BLENDER-v300" + b"\x00" * 64
    if name == "render":
        return _render()
    if name == "base_color":
        return _png(Image.fromarray(_checker()).resize((16, 16), Image.Resampling.NEAREST))
    if name == "metallic":
        return _flat((0, 0, 0))
    if name == "roughness":
        return _flat((204, 204, 204))
    if name == "normal":
        return _flat((128, 128, 255))
    raise KeyError(name)


def _build_cached(name: str) -> bytes:
    if name not in _cache:
        _cache[name] = _build(name)
    return _cache[name]


def for_task(name: str, data: bytes, task_id: str) -> bytes:
    """``data`` made unique to one task, as a real provider's output is, same geometry.

    GLB: the task id in ``asset.extras``; STL: in the 80-byte header; OBJ/MTL: a comment.
    Other assets (pictures, stubs) are returned as they are.
    """
    if name.startswith("glb"):
        json_length = struct.unpack_from("<I", data, 12)[0]
        document = json.loads(data[20 : 20 + json_length])
        document.setdefault("asset", {})["extras"] = {"task": task_id}
        text = json.dumps(document, separators=(",", ":")).encode()
        text += b" " * (-len(text) % 4)
        rest = data[20 + json_length :]
        body = struct.pack("<I4s", len(text), b"JSON") + text + rest
        return struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body
    if name == "stl":
        return f"task {task_id}".encode().ljust(80, b" ")[:80] + data[80:]
    if name in ("obj", "mtl"):
        return f"# task {task_id}\n".encode() + data
    return data


def asset_bytes(name: str) -> bytes:
    """The bytes of one built-in asset.

    Names: ``glb`` (textured), ``glb-plain`` (untextured), ``obj``, ``mtl``, ``stl``,
    ``3mf``, ``fbx``/``usdz``/``blend`` (stubs), ``render`` (256 px PNG), and the PNG
    texture maps ``base_color``, ``metallic``, ``roughness``, ``normal``.
    """
    with _lock:
        return _build_cached(name)
