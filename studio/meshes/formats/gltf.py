"""glTF 2.0, binary (.glb) and JSON (.gltf), with PBR materials and textures.

Read by our own reader (:mod:`studio.meshes.formats.gltf_document` for the JSON, buffers
and accessors, :mod:`studio.meshes.formats.gltf_scene` for nodes, meshes and materials),
so extensions, instancing and damaged files are handled the way the designer needs;
written by :func:`write_glb`. Node transforms are baked into the vertices.
"""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from studio.atomic import atomic_writer
from studio.meshes.formats.gltf_document import GltfDocument
from studio.meshes.formats.gltf_scene import SceneBuilder
from studio.meshes.request import ReadRequest
from studio.meshes.scene import Material, MeshFormat, Scene, Texture


def read(request: ReadRequest, fmt: MeshFormat) -> Scene:
    """Read a .glb or .gltf file; each placed primitive becomes a part.

    Every file a .gltf refers to is read from its own folder only.
    """
    request.progress(0.0, "Reading file")
    document = GltfDocument.read(request, fmt)
    request.cancel.raise_if_cancelled()
    request.progress(0.3, "Reading file")
    return SceneBuilder(document, request, fmt).build()


class _GlbBuilder:
    """Accumulates the binary chunk and the JSON that indexes into it."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.length = 0
        self.views: list[dict[str, Any]] = []
        self.accessors: list[dict[str, Any]] = []
        self.images: list[dict[str, Any]] = []
        self.textures: list[dict[str, Any]] = []
        self.texture_ids: dict[int, int] = {}

    def view(self, data: bytes, target: int | None = None) -> int:
        self.chunks.append(data)
        entry: dict[str, Any] = {"buffer": 0, "byteOffset": self.length, "byteLength": len(data)}
        if target is not None:
            entry["target"] = target
        self.length += len(data)
        padding = -self.length % 4  # every view starts 4-byte aligned
        if padding:
            self.chunks.append(b"\x00" * padding)
            self.length += padding
        self.views.append(entry)
        return len(self.views) - 1

    def accessor(self, array: np.ndarray, kind: str, target: int | None, **extra: Any) -> int:
        component = {np.dtype(np.float32): 5126, np.dtype(np.uint32): 5125,
                     np.dtype(np.uint16): 5123, np.dtype(np.uint8): 5121}[array.dtype]  # fmt: skip
        view = self.view(
            np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes(), target
        )
        entry: dict[str, Any] = {
            "bufferView": view,
            "componentType": component,
            "count": int(array.shape[0]),
            "type": kind,
            **extra,
        }
        self.accessors.append(entry)
        return len(self.accessors) - 1

    def texture(self, texture: Texture) -> int:
        key = id(texture)
        if key not in self.texture_ids:
            png = io.BytesIO()
            Image.fromarray(texture.image).save(png, format="PNG")
            image = {"bufferView": self.view(png.getvalue()), "mimeType": "image/png"}
            if texture.name:
                image["name"] = texture.name
            self.images.append(image)
            self.textures.append({"source": len(self.images) - 1, "sampler": 0})
            self.texture_ids[key] = len(self.textures) - 1
        return self.texture_ids[key]


def _material_json(builder: _GlbBuilder, material: Material) -> dict[str, Any]:
    pbr: dict[str, Any] = {
        "baseColorFactor": [float(c) for c in material.base_color],
        "metallicFactor": float(material.metallic),
        "roughnessFactor": float(material.roughness),
    }
    if material.base_color_texture is not None:
        pbr["baseColorTexture"] = {"index": builder.texture(material.base_color_texture)}
    if material.metallic_roughness_texture is not None:
        pbr["metallicRoughnessTexture"] = {
            "index": builder.texture(material.metallic_roughness_texture)
        }
    out: dict[str, Any] = {"name": material.name, "pbrMetallicRoughness": pbr}
    if material.normal_texture is not None:
        out["normalTexture"] = {"index": builder.texture(material.normal_texture)}
    if material.occlusion_texture is not None:
        out["occlusionTexture"] = {"index": builder.texture(material.occlusion_texture)}
    if material.emissive_texture is not None:
        out["emissiveTexture"] = {"index": builder.texture(material.emissive_texture)}
    if any(material.emissive) or material.emissive_texture is not None:
        out["emissiveFactor"] = (
            [float(c) for c in material.emissive] if any(material.emissive) else [1.0, 1.0, 1.0]
        )
    if material.base_color[3] < 1.0:
        out["alphaMode"] = "BLEND"
    if material.double_sided:
        out["doubleSided"] = True
    return out


def write_glb(scene: Scene, path: Path) -> list[Path]:
    """Write the scene as one .glb: a node and mesh per part, PBR materials, PNG textures."""
    builder = _GlbBuilder()
    meshes: list[dict[str, Any]] = []
    materials: list[dict[str, Any]] = []
    material_ids: dict[int, int] = {}
    for part in scene.parts:
        vertices = np.ascontiguousarray(part.vertices, dtype=np.float32)
        attributes = {
            "POSITION": builder.accessor(
                vertices, "VEC3", _ARRAY_BUFFER,
                min=[float(v) for v in vertices.min(axis=0)],
                max=[float(v) for v in vertices.max(axis=0)],
            )
        }  # fmt: skip
        if part.normals is not None:
            attributes["NORMAL"] = builder.accessor(
                part.normals.astype(np.float32), "VEC3", _ARRAY_BUFFER
            )
        if part.uv is not None:
            # glTF puts the UV origin at the image's top-left; ours is bottom-left.
            uv = part.uv.astype(np.float32).copy()
            uv[:, 1] = 1.0 - uv[:, 1]
            attributes["TEXCOORD_0"] = builder.accessor(uv, "VEC2", _ARRAY_BUFFER)
        if part.colors is not None:
            attributes["COLOR_0"] = builder.accessor(
                part.colors.astype(np.uint8), "VEC4", _ARRAY_BUFFER, normalized=True
            )
        primitive: dict[str, Any] = {"attributes": attributes, "mode": 4}
        if part.faces is not None:
            # 16-bit indices halve the index data of the many small meshes.
            index_type = np.uint16 if part.n_vertices <= 0xFFFF else np.uint32
            primitive["indices"] = builder.accessor(
                part.faces.astype(index_type).reshape(-1), "SCALAR", _ELEMENT_ARRAY_BUFFER
            )
        if part.material is not None:
            key = id(part.material)
            if key not in material_ids:
                materials.append(_material_json(builder, part.material))
                material_ids[key] = len(materials) - 1
            primitive["material"] = material_ids[key]
        meshes.append({"name": part.name, "primitives": [primitive]})
    tree: dict[str, Any] = {
        "asset": {"version": "2.0", "generator": "Kiln Studio"},
        "scene": 0,
        "scenes": [{"nodes": list(range(len(meshes)))}],
        "nodes": [{"mesh": i, "name": m["name"]} for i, m in enumerate(meshes)],
        "meshes": meshes,
        "accessors": builder.accessors,
        "bufferViews": builder.views,
        "buffers": [{"byteLength": builder.length}],
    }
    if materials:
        tree["materials"] = materials
    if builder.textures:
        tree["textures"] = builder.textures
        tree["images"] = builder.images
        # Linear filtering, mipmaps, repeat: what a texture painted for a mesh expects.
        tree["samplers"] = [{"magFilter": 9729, "minFilter": 9987, "wrapS": 10497, "wrapT": 10497}]
    text = json.dumps(tree, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 4)
    total = 12 + 8 + len(text) + 8 + builder.length
    with atomic_writer(path) as fh:
        fh.write(struct.pack("<4sII", b"glTF", 2, total))
        fh.write(struct.pack("<I4s", len(text), b"JSON"))
        fh.write(text)
        fh.write(struct.pack("<I4s", builder.length, b"BIN\x00"))
        for chunk in builder.chunks:
            fh.write(chunk)
    return [path]


_ARRAY_BUFFER = 34962
_ELEMENT_ARRAY_BUFFER = 34963
