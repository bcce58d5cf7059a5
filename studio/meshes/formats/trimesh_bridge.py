"""Between trimesh and our scene: a folder-bound resolver and conversion of its meshes.

trimesh parses OBJ, glTF and PLY well; what it returns (float64 arrays, PIL images,
``TextureVisuals``) is turned here into our float32/int32 :class:`Part` with
:class:`Material` and uint8 :class:`Texture` arrays.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import trimesh
from PIL import Image

from studio.meshes.limits import Limits
from studio.meshes.references import escape_note, missing_note, resolve_reference
from studio.meshes.scene import Material, Part, Texture, UInt8Array
from studio.meshes.textures import fit_image_bytes, is_image

log = logging.getLogger(__name__)


class FolderResolver(trimesh.resolvers.Resolver):  # type: ignore[misc]
    """Give trimesh files from the model's folder only, noting every refusal.

    Images pass through the texture pixel limit on the way (scaled down or left out, with
    a note), since trimesh decodes them itself.

    Parameters
    ----------
    folder
        The model's folder.
    notes
        Where to append plain notes about ignored references.
    limits
        ``max_texture_pixels`` applies to the images handed over.
    """

    def __init__(self, folder: Path, notes: list[str], limits: Limits | None = None) -> None:
        self.folder = folder
        self.notes = notes
        self.limits = limits or Limits()

    def get(self, name: str) -> bytes:
        target = resolve_reference(self.folder, name)
        if target is None:
            self._note(escape_note(name))
            raise FileNotFoundError(name)
        if not target.is_file():
            # Exporters often flatten texture folders: try the bare name beside the model.
            flat = resolve_reference(self.folder, Path(name.replace("\\", "/")).name)
            if flat is None or not flat.is_file():
                self._note(missing_note(name))
                raise FileNotFoundError(name)
            target = flat
        data = target.read_bytes()
        if is_image(data):
            fitted = fit_image_bytes(data, f"“{name}”", self.limits, self.notes)
            if fitted is None:
                raise FileNotFoundError(name)
            return fitted
        return data

    def _note(self, note: str) -> None:
        if note not in self.notes:
            self.notes.append(note)

    def write(self, name: str, data: Any) -> None:
        raise PermissionError("reading only")

    def namespaced(self, namespace: str) -> FolderResolver:
        return self

    def keys(self) -> list[str]:
        return []


def texture_from_image(image: Any, name: str) -> Texture | None:
    """A PIL image as an RGB/RGBA uint8 texture, top row first; ``None`` if unusable."""
    if not isinstance(image, Image.Image):
        return None
    try:
        has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        converted = image.convert("RGBA" if has_alpha else "RGB")
        pixels: UInt8Array = np.ascontiguousarray(np.asarray(converted, dtype=np.uint8))
    except (OSError, ValueError):
        log.debug("texture %s could not be decoded", name, exc_info=True)
        return None
    return Texture(pixels, name=name)


def _rgba(value: Any, default: tuple[float, float, float, float]) -> tuple[float, ...]:
    if value is None:
        return default
    array = np.asarray(value, dtype=np.float64).reshape(-1)
    if array.size < 3:
        return default
    if np.asarray(value).dtype.kind in "ui" or array.max() > 1.0:
        array = array / 255.0
    if array.size == 3:
        array = np.append(array, 1.0)
    return tuple(float(c) for c in np.clip(array[:4], 0.0, 1.0))


def material_from_trimesh(material: Any, fallback_name: str) -> Material | None:
    """Our PBR material from a trimesh ``PBRMaterial`` or ``SimpleMaterial``."""
    if material is None:
        return None
    name = str(getattr(material, "name", None) or fallback_name)
    if isinstance(material, trimesh.visual.material.PBRMaterial):
        base = _rgba(material.baseColorFactor, (1.0, 1.0, 1.0, 1.0))
        emissive = _rgba(material.emissiveFactor, (0.0, 0.0, 0.0, 1.0))[:3]
        metallic = material.metallicFactor
        roughness = material.roughnessFactor
        return Material(
            name=name,
            base_color=(base[0], base[1], base[2], base[3]),
            base_color_texture=texture_from_image(material.baseColorTexture, f"{name} colour"),
            # glTF's defaults when the factors are absent are fully metallic and rough.
            metallic=1.0 if metallic is None else float(metallic),
            roughness=1.0 if roughness is None else float(roughness),
            metallic_roughness_texture=texture_from_image(
                material.metallicRoughnessTexture, f"{name} metallic-roughness"
            ),
            normal_texture=texture_from_image(material.normalTexture, f"{name} normal"),
            occlusion_texture=texture_from_image(material.occlusionTexture, f"{name} occlusion"),
            emissive=(emissive[0], emissive[1], emissive[2]),
            emissive_texture=texture_from_image(material.emissiveTexture, f"{name} emissive"),
            double_sided=bool(material.doubleSided),
        )
    image = getattr(material, "image", None)
    if _is_placeholder(image):
        # trimesh invents a tiny grey texture when a file's material can't be read.
        return None
    texture = texture_from_image(image, f"{name} colour")
    diffuse = _rgba(getattr(material, "diffuse", None), (0.8, 0.8, 0.8, 1.0))
    if texture is not None:
        # MTL writers put a grey Kd beside map_Kd; multiplying would darken the texture.
        diffuse = (1.0, 1.0, 1.0, diffuse[3])
    return Material(
        name=name,
        base_color=(diffuse[0], diffuse[1], diffuse[2], diffuse[3]),
        base_color_texture=texture,
        metallic=0.0,
        roughness=0.8,
    )


def _is_placeholder(image: Any) -> bool:
    """True for trimesh's stand-in texture: a 2x2 RGBA of (100, 100, 100, 255)."""
    if not isinstance(image, Image.Image) or image.size != (2, 2) or image.mode != "RGBA":
        return False
    return image.getcolors(4) == [(4, (100, 100, 100, 255))]


def part_from_trimesh(mesh: Any, name: str, transform: Any = None) -> Part:
    """Convert one trimesh mesh (optionally placed by a 4x4 transform) into a part."""
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces, dtype=np.int64).reshape(-1, 3)
    normals = mesh._cache["vertex_normals"]  # only normals the file itself held
    normals = None if normals is None else np.asarray(normals, dtype=np.float64)
    if normals is not None and normals.shape != vertices.shape:
        normals = None
    if transform is not None and not np.allclose(transform, np.eye(4)):
        matrix = np.asarray(transform, dtype=np.float64)
        vertices = vertices @ matrix[:3, :3].T + matrix[:3, 3]
        if normals is not None:
            normals = normals @ np.linalg.inv(matrix[:3, :3])
            length = np.linalg.norm(normals, axis=1, keepdims=True)
            normals = np.divide(normals, length, out=np.zeros_like(normals), where=length > 0)
        if np.linalg.det(matrix[:3, :3]) < 0:
            faces = faces[:, ::-1]  # a mirroring transform turns faces inside out
    uv = None
    colors = None
    material = None
    visual = mesh.visual
    kind = getattr(visual, "kind", None)
    if kind == "texture":
        raw_uv = getattr(visual, "uv", None)
        if raw_uv is not None and len(raw_uv) == len(vertices):
            uv = np.asarray(raw_uv, dtype=np.float32)[:, :2]
        material = material_from_trimesh(getattr(visual, "material", None), name)
        vertex_colors = visual.vertex_attributes.get("color")
        if vertex_colors is not None and len(vertex_colors) == len(vertices):
            colors = _rgba8(vertex_colors)
    elif kind == "vertex":
        colors = _rgba8(visual.vertex_colors)
    elif kind == "face":
        # Per-face colours become per-corner colours on an unshared copy of the faces.
        face_colors = _rgba8(visual.face_colors)
        vertices = vertices[faces].reshape(-1, 3)
        normals = None
        colors = np.repeat(face_colors, 3, axis=0)
        faces = np.arange(len(vertices), dtype=np.int64).reshape(-1, 3)
    return Part(
        vertices=np.ascontiguousarray(vertices, dtype=np.float32),
        faces=np.ascontiguousarray(faces, dtype=np.int32),
        name=name,
        normals=None if normals is None else np.ascontiguousarray(normals, dtype=np.float32),
        uv=uv,
        colors=colors,
        material=material,
    )


def _rgba8(colors: Any) -> UInt8Array:
    array = np.asarray(colors)
    if array.dtype.kind == "f":
        array = np.clip(np.round(array * 255.0), 0, 255)
    array = array.astype(np.uint8)
    if array.shape[1] == 3:
        array = np.column_stack([array, np.full(len(array), 255, dtype=np.uint8)])
    return np.ascontiguousarray(array[:, :4])


def parts_from_scene(scene: Any, *, reverse: bool = False) -> list[Part]:
    """Every placed mesh of a trimesh scene, transforms baked in, in file order.

    Parameters
    ----------
    scene
        A ``trimesh.Scene``.
    reverse
        trimesh's OBJ loader lists geometry last-first; ``True`` restores file order.
    """
    placements: dict[str, list[Any]] = {}
    for node in scene.graph.nodes_geometry:
        placements.setdefault(scene.graph[node][1], []).append(node)
    names = list(scene.geometry.keys())
    if reverse:
        names.reverse()
    parts: list[Part] = []
    for geometry_name in names:
        mesh = scene.geometry[geometry_name]
        if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
            continue
        nodes = placements.get(geometry_name, [])
        for node in nodes:
            transform, _ = scene.graph[node]
            # An instanced mesh is told apart by its node's name.
            name = str(geometry_name) if len(nodes) == 1 else str(node)
            parts.append(part_from_trimesh(mesh, name, transform))
    return parts
