"""From a glTF document to a :class:`Scene`: placements, primitives, materials, textures.

The node graph is counted before anything is expanded: the triangles every placement adds
up to are checked against the limit first, so a file that places a box a trillion times
is refused in milliseconds. Each primitive is decoded once however often it is placed;
a primitive placed more than :data:`SEPARATE_COPIES` times becomes one part holding all
its copies, built with numpy in one pass, so 20,000 placed boxes cost what their
240,000 triangles cost.

Supported beyond the core: ``KHR_draco_mesh_compression`` (through DracoPy),
``KHR_texture_transform``, ``KHR_mesh_quantization``, ``EXT_mesh_gpu_instancing``,
``KHR_materials_emissive_strength``, ``KHR_materials_pbrSpecularGlossiness`` (approximated)
and ``EXT_texture_webp``. Anything else the file uses is named in a note.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import numpy as np
import numpy.typing as npt

from studio.meshes.errors import MeshFormatError, MeshLimitError
from studio.meshes.formats.gltf_document import (
    Damaged,
    GltfDocument,
    as_float,
    component_type,
    count_of,
    decode_data_uri,
)
from studio.meshes.limits import check_triangles
from studio.meshes.references import escape_note, is_data_uri, missing_note, resolve_reference
from studio.meshes.request import ReadRequest
from studio.meshes.scene import Material, MeshFormat, Part, Scene, Texture, UInt8Array
from studio.meshes.textures import read_texture

log = logging.getLogger(__name__)

Float64Array = npt.NDArray[np.float64]
Int64Array = npt.NDArray[np.int64]
Float32Array = npt.NDArray[np.float32]

DRACO = "KHR_draco_mesh_compression"
TEXTURE_TRANSFORM = "KHR_texture_transform"
GPU_INSTANCING = "EXT_mesh_gpu_instancing"
SUPPORTED_EXTENSIONS = frozenset(
    {
        DRACO,
        TEXTURE_TRANSFORM,
        GPU_INSTANCING,
        "KHR_mesh_quantization",
        "KHR_materials_emissive_strength",
        "KHR_materials_pbrSpecularGlossiness",
        "EXT_texture_webp",
    }
)
#: Up to this many copies of one primitive stay separate parts, named by their nodes.
SEPARATE_COPIES = 32
#: Node visits (and instances) one scene may take; each costs a matrix product.
MAX_PLACEMENTS = 2_000_000
#: Vertices transformed per numpy step when building a part of many copies.
_CHUNK_VERTICES = 1 << 20

_TRIANGLES, _STRIP, _FAN = 4, 5, 6
_UNNAMED = re.compile(r"(?:geometry|GLTF|mesh|node)?(?:[_ ]?\d+)*", re.IGNORECASE)


@dataclass
class _Geometry:
    """One primitive, decoded, in its mesh's own coordinates."""

    vertices: Float64Array
    faces: Int64Array
    normals: Float32Array | None
    uv: Float32Array | None
    colors: UInt8Array | None
    material: Material | None


@dataclass
class _TextureUse:
    texture: Texture | None
    tex_coord: int
    #: 2x3 affine matrix in glTF's UV space, or ``None`` for none.
    transform: Float64Array | None


@dataclass
class _MaterialUse:
    material: Material
    tex_coord: int
    transform: Float64Array | None


@dataclass
class _Placement:
    node: int
    #: ``(k, 4, 4)`` scene-space matrices: one per copy this node places.
    matrices: Float64Array


class SceneBuilder:
    """Reads one glTF document into a scene, noting whatever it cannot show."""

    def __init__(self, document: GltfDocument, request: ReadRequest, fmt: MeshFormat) -> None:
        self.doc = document
        self.request = request
        self.format = fmt
        self.notes = request.notes
        self._materials: dict[int, _MaterialUse | None] = {}
        self._images: dict[int, Texture | None] = {}
        self._mesh_triangles: dict[int, int] = {}
        self._skipped_modes: set[str] = set()

    # -- entry -------------------------------------------------------------------------

    def build(self) -> Scene:
        try:
            self._check_extensions()
            roots = self._roots()
            triangles, visits = self._count(roots)
            check_triangles(self.request.path, triangles, self.request.limits)
            if visits > MAX_PLACEMENTS:
                raise MeshLimitError(
                    f"{self.request.label} places its parts {visits:,} times, more than the "
                    f"{MAX_PLACEMENTS:,} Kiln Studio can show."
                )
            self.request.cancel.raise_if_cancelled()
            placements = self._place(roots)
            parts = self._parts(placements)
        except Damaged as exc:
            raise MeshFormatError(f"{self.request.label} is damaged: {exc}.") from None
        self._name_unnamed(parts)
        self._note_ignored()
        return Scene(parts, self.format, unit="meter")  # glTF counts in metres, by its spec

    def _note(self, note: str) -> None:
        if note not in self.notes:
            self.notes.append(note)

    # -- extensions and ignored features -----------------------------------------------

    def _check_extensions(self) -> None:
        required = self.doc.tree.get("extensionsRequired", [])
        if not isinstance(required, list):
            raise Damaged("its list of required extensions is malformed")
        for name in required:
            if not isinstance(name, str):
                raise Damaged("its list of required extensions is malformed")
            if name not in SUPPORTED_EXTENSIONS:
                raise MeshFormatError(
                    f"{self.request.label} needs the glTF extension {name[:80]}, which Kiln "
                    f"Studio cannot read yet; export it again without {name[:80]}."
                )

    def _note_ignored(self) -> None:
        used = self.doc.tree.get("extensionsUsed", [])
        if isinstance(used, list):
            ignored = sorted(
                {str(n)[:80] for n in used if isinstance(n, str)} - SUPPORTED_EXTENSIONS
            )
            if ignored:
                self._note(
                    f"The file uses glTF features Kiln Studio does not show "
                    f"({', '.join(ignored)}), so it may look different in other viewers."
                )
        if self._skipped_modes:
            kinds = " and ".join(sorted(self._skipped_modes))
            self._note(f"The file holds {kinds}, which Kiln Studio does not show.")
        if self.doc.tree.get("animations"):
            self._note("The file's animations are not played; it is shown as placed.")
        if any(isinstance(n, dict) and "skin" in n for n in self.doc.items("nodes")):
            self._note("The file's skeleton is ignored; the model is shown in its rest pose.")

    # -- the node graph ----------------------------------------------------------------

    def _roots(self) -> list[int]:
        nodes = self.doc.items("nodes")
        scenes = self.doc.items("scenes")
        if scenes:
            index = self.doc.tree.get("scene", 0)
            scene = self.doc.item("scenes", index)
            if len(scenes) > 1:
                self._note(
                    f"The file holds {len(scenes)} scenes; the "
                    f"{'default' if 'scene' in self.doc.tree else 'first'} one is shown."
                )
            roots = scene.get("nodes", [])
            if not isinstance(roots, list):
                raise Damaged("a scene's list of nodes is malformed")
            for root in roots:
                self.doc.item("nodes", root)
            return list(roots)
        children: set[int] = set()
        for node in nodes:
            children.update(c for c in self._children(node) if isinstance(c, int))
        return [i for i in range(len(nodes)) if i not in children]

    def _children(self, node: dict[str, Any]) -> list[int]:
        children = node.get("children", [])
        if not isinstance(children, list):
            raise Damaged("a node's list of children is malformed")
        for child in children:
            self.doc.item("nodes", child)
        return children

    def _count(self, roots: list[int]) -> tuple[int, int]:
        """Triangles and node visits the scene adds up to, without walking every path."""
        triangles: dict[int, int] = {}
        visits: dict[int, int] = {}
        state: dict[int, int] = {}  # 1: on the current path, 2: counted
        stack: list[tuple[int, bool]] = [(r, False) for r in reversed(roots)]
        while stack:
            index, finished = stack.pop()
            node = self.doc.item("nodes", index)
            children = self._children(node)
            if finished:
                copies = self._instance_count(node)
                own = self._triangles_of(node.get("mesh")) * copies if "mesh" in node else 0
                triangles[index] = own + sum(triangles[c] for c in children)
                visits[index] = copies + sum(visits[c] for c in children)
                state[index] = 2
                continue
            seen = state.get(index)
            if seen == 2:
                continue
            if seen == 1:
                raise Damaged("its node hierarchy loops back on itself")
            state[index] = 1
            stack.append((index, True))
            stack.extend((c, False) for c in reversed(children))
        return sum(triangles[r] for r in roots), sum(visits[r] for r in roots)

    def _triangles_of(self, mesh_index: Any) -> int:
        mesh = self.doc.item("meshes", mesh_index)
        if mesh_index not in self._mesh_triangles:
            total = 0
            for primitive in self._primitives(mesh):
                mode = primitive.get("mode", _TRIANGLES)
                attributes = primitive.get("attributes")
                if mode not in (_TRIANGLES, _STRIP, _FAN) or not isinstance(attributes, dict):
                    continue
                if "indices" in primitive:
                    corners = self.doc.accessor_count(primitive["indices"])
                elif "POSITION" in attributes:
                    corners = self.doc.accessor_count(attributes["POSITION"])
                else:
                    continue
                total += corners // 3 if mode == _TRIANGLES else max(corners - 2, 0)
            self._mesh_triangles[mesh_index] = total
        return self._mesh_triangles[mesh_index]

    def _primitives(self, mesh: dict[str, Any]) -> list[dict[str, Any]]:
        primitives = mesh.get("primitives", [])
        if not isinstance(primitives, list) or not all(isinstance(p, dict) for p in primitives):
            raise Damaged("a mesh's list of primitives is malformed")
        return primitives

    def _instance_count(self, node: dict[str, Any]) -> int:
        attributes = self._instancing(node)
        return 1 if attributes is None else self._instances_in(attributes)

    def _instances_in(self, attributes: dict[str, Any]) -> int:
        counts = {self.doc.accessor_count(index) for index in attributes.values()}
        if len(counts) != 1:
            raise Damaged("a node's instances disagree on how many there are")
        return counts.pop()

    def _instancing(self, node: dict[str, Any]) -> dict[str, Any] | None:
        extensions = node.get("extensions")
        if not isinstance(extensions, dict) or "mesh" not in node:
            return None
        instancing = extensions.get(GPU_INSTANCING)
        if not isinstance(instancing, dict):
            return None
        attributes = instancing.get("attributes")
        if not isinstance(attributes, dict) or not attributes:
            raise Damaged("a node's instances are malformed")
        known = {k: v for k, v in attributes.items() if k in ("TRANSLATION", "ROTATION", "SCALE")}
        if not known:
            raise Damaged("a node's instances are malformed")
        return known

    def _place(self, roots: list[int]) -> dict[int, list[_Placement]]:
        """Every mesh's placements in scene space, meshes in order of first use."""
        placements: dict[int, list[_Placement]] = {}
        stack: list[tuple[int, Float64Array]] = [(r, np.eye(4)) for r in reversed(roots)]
        while stack:
            index, parent = stack.pop()
            node = self.doc.item("nodes", index)
            world = parent @ _local_matrix(node)
            if "mesh" in node:
                matrices = world[None]
                instancing = self._instancing(node)
                if instancing is not None:
                    matrices = world[None] @ self._instance_matrices(instancing)
                placements.setdefault(node["mesh"], []).append(_Placement(index, matrices))
            stack.extend((c, world) for c in reversed(self._children(node)))
        if not self.doc.items("nodes") and self.doc.items("meshes"):
            self._note("The file places none of its meshes; each is shown where it is defined.")
            for mesh_index in range(len(self.doc.items("meshes"))):
                placements[mesh_index] = [_Placement(-1, np.eye(4)[None])]
        return placements

    def _instance_matrices(self, attributes: dict[str, Any]) -> Float64Array:
        count = self._instances_in(attributes)
        matrices = np.tile(np.eye(4), (count, 1, 1))
        if "SCALE" in attributes:
            scale = self._float_accessor(attributes["SCALE"], "instance scales", (3,))
            matrices[:, [0, 1, 2], [0, 1, 2]] = scale
        if "ROTATION" in attributes:
            rotation = self._float_accessor(attributes["ROTATION"], "instance rotations", (4,))
            matrices = _rotation_matrices(rotation) @ matrices
        if "TRANSLATION" in attributes:
            translation = self._float_accessor(
                attributes["TRANSLATION"], "instance positions", (3,)
            )
            matrices[:, :3, 3] += translation
        if not np.isfinite(matrices).all():
            raise Damaged("an instance's transform is not numbers")
        return matrices

    def _float_accessor(self, index: Any, what: str, widths: tuple[int, ...]) -> Float64Array:
        raw = self.doc.accessor(index, what, widths)
        return as_float(raw, self.doc.is_normalized(index)).astype(np.float64)

    # -- parts -------------------------------------------------------------------------

    def _parts(self, placements: dict[int, list[_Placement]]) -> list[Part]:
        parts: list[Part] = []
        nodes = self.doc.items("nodes")
        for mesh_index, places in placements.items():
            mesh = self.doc.item("meshes", mesh_index)
            primitives = self._primitives(mesh)
            mesh_name = _text(mesh.get("name"))
            weights = _weights(mesh, places, nodes)
            for number, primitive in enumerate(primitives):
                self.request.cancel.raise_if_cancelled()
                geometry = self._geometry(primitive, weights)
                if geometry is None:
                    continue
                base = mesh_name if len(primitives) == 1 else f"{mesh_name} {number + 1}".strip()
                parts.extend(self._placed(geometry, places, base, nodes))
        return parts

    def _placed(
        self,
        geometry: _Geometry,
        places: list[_Placement],
        base: str,
        nodes: list[dict[str, Any]],
    ) -> list[Part]:
        copies = sum(len(p.matrices) for p in places)
        if copies == 0:
            return []
        corners = max(geometry.vertices.shape[0], 3 * geometry.faces.shape[0])
        if copies * corners >= 2**31:
            raise MeshLimitError(
                f"{self.request.label} has a part too big to open: more than 2 billion corners."
            )
        if copies > SEPARATE_COPIES:
            matrices = np.concatenate([p.matrices for p in places])
            name = base or _node_name(nodes, places[0].node)
            self._note(
                f"“{name or self.request.path.stem}” is placed {copies:,} times; "
                "the copies are shown as one part."
            )
            return [_part(geometry, matrices, name)]
        parts: list[Part] = []
        for place in places:
            node_name = _node_name(nodes, place.node)
            for copy, matrix in enumerate(place.matrices):
                if copies == 1:
                    name = base or node_name
                elif len(place.matrices) == 1:
                    name = node_name or f"{base} {len(parts) + 1}".strip()
                else:
                    name = f"{node_name or base} {copy + 1}".strip()
                parts.append(_part(geometry, matrix[None], name))
        return parts

    def _name_unnamed(self, parts: list[Part]) -> None:
        stem = self.request.path.stem
        for index, part in enumerate(parts):
            if not part.name or _UNNAMED.fullmatch(part.name):
                # "geometry_0" and friends: the file's name reads better.
                part.name = stem if len(parts) == 1 else f"{stem} {index + 1}"

    # -- primitives --------------------------------------------------------------------

    def _geometry(
        self, primitive: dict[str, Any], weights: Float64Array | None
    ) -> _Geometry | None:
        mode = primitive.get("mode", _TRIANGLES)
        if mode not in (_TRIANGLES, _STRIP, _FAN):
            self._skipped_modes.add("points" if mode == 0 else "lines")
            return None
        attributes = primitive.get("attributes")
        if not isinstance(attributes, dict):
            raise Damaged("a primitive's attributes are malformed")
        extensions = primitive.get("extensions")
        draco = extensions.get(DRACO) if isinstance(extensions, dict) else None
        decoded = self._draco(draco, attributes) if draco is not None else {}

        def attribute(name: str, what: str, widths: tuple[int, ...]) -> npt.NDArray[Any] | None:
            if name in decoded:
                return decoded[name]
            if name not in attributes:
                return None
            return self.doc.accessor(attributes[name], what, widths)

        raw_positions = attribute("POSITION", "vertex positions", (3,))
        if raw_positions is None:
            self._note("A part of the file has no vertex positions, so it was left out.")
            return None
        positions = self._as_float(raw_positions, attributes["POSITION"]).astype(np.float64)
        n = positions.shape[0]
        if not np.isfinite(positions).all():
            raise MeshFormatError(
                f"{self.request.label} is damaged: some coordinates are not numbers "
                "(NaN or infinity)."
            )
        if "indices" in decoded:
            corners = decoded["indices"]
        elif "indices" in primitive:
            raw = self.doc.accessor(primitive["indices"], "triangle corners", (1,))
            if raw.dtype.kind != "u":
                raise Damaged("its triangle corners are not whole numbers")
            corners = raw.reshape(-1).astype(np.int64)
        else:
            corners = np.arange(n, dtype=np.int64)
        faces = _faces(corners, mode)
        if faces.size and (int(faces.max()) >= n):
            raise Damaged("a face uses a vertex that does not exist")

        normals = None
        raw_normals = attribute("NORMAL", "normals", (3,))
        if raw_normals is not None:
            normals = self._as_float(raw_normals, attributes.get("NORMAL"))
            if normals.shape[0] != n or not np.isfinite(normals).all():
                self._note("Some of the file's normals are unusable; they are recomputed.")
                normals = None
        if weights is not None:
            positions, normals = self._morph(primitive, weights, positions, normals, n)

        colors = None
        raw_colors = attribute("COLOR_0", "vertex colours", (3, 4))
        if raw_colors is not None:
            colors = _colors(raw_colors, n)
            if colors is None:
                self._note("The file's vertex colours are unusable, so they were ignored.")

        use = self._material(primitive.get("material"))
        name = f"TEXCOORD_{use.tex_coord if use is not None else 0}"
        uv = None
        raw_uv = attribute(name, "texture coordinates", (2,))
        if raw_uv is not None:
            transform = use.transform if use is not None else None
            uv = self._uv(raw_uv, attributes.get(name), transform, n)
        elif use is not None and _has_texture(use.material):
            self._note("A textured part has no texture coordinates; its texture is not shown.")
        return _Geometry(
            vertices=positions,
            faces=faces,
            normals=normals,
            uv=uv,
            colors=colors,
            material=use.material if use is not None else None,
        )

    def _as_float(self, raw: npt.NDArray[Any], accessor: Any) -> Float32Array:
        normalized = accessor is not None and self.doc.is_normalized(accessor)
        return as_float(raw, normalized)

    def _uv(
        self,
        raw: npt.NDArray[Any],
        accessor: Any,
        transform: Float64Array | None,
        n: int,
    ) -> Float32Array | None:
        uv = self._as_float(raw, accessor).astype(np.float64)
        if uv.shape[0] != n or not np.isfinite(uv).all():
            self._note("The file's texture coordinates are unusable; its texture is not shown.")
            return None
        if transform is not None:
            uv = uv @ transform[:, :2].T + transform[:, 2]
        uv[:, 1] = 1.0 - uv[:, 1]  # glTF puts (0, 0) at the image's top-left; ours bottom-left
        return np.ascontiguousarray(uv, dtype=np.float32)

    def _morph(
        self,
        primitive: dict[str, Any],
        weights: Float64Array,
        positions: Float64Array,
        normals: Float32Array | None,
        n: int,
    ) -> tuple[Float64Array, Float32Array | None]:
        targets = primitive.get("targets", [])
        if not isinstance(targets, list):
            raise Damaged("a primitive's shape keys are malformed")
        positions = positions.copy()
        for weight, target in zip(weights, targets, strict=False):
            if not weight or not isinstance(target, dict):
                continue
            if "POSITION" in target:
                delta = self._float_accessor(target["POSITION"], "shape keys", (3,))
                if delta.shape[0] != n:
                    raise Damaged("a shape key does not match its mesh")
                positions += weight * delta
            if normals is not None and "NORMAL" in target:
                delta = self._float_accessor(target["NORMAL"], "shape keys", (3,))
                if delta.shape[0] == n:
                    normals = (normals + weight * delta).astype(np.float32)
        if not np.isfinite(positions).all():
            raise MeshFormatError(
                f"{self.request.label} is damaged: some coordinates are not numbers "
                "(NaN or infinity)."
            )
        return positions, normals

    def _draco(self, extension: Any, attributes: dict[str, Any]) -> dict[str, npt.NDArray[Any]]:
        """A KHR_draco_mesh_compression primitive's corners and attributes, decoded."""
        label = self.request.label
        try:
            import DracoPy
        except ImportError:  # pragma: no cover - DracoPy is a dependency
            raise MeshFormatError(
                f"{label} needs the glTF extension {DRACO}, which this installation of Kiln "
                "Studio cannot decode; export it again without Draco compression."
            ) from None
        if not isinstance(extension, dict) or not isinstance(extension.get("attributes"), dict):
            raise Damaged(f"its Draco compression ({DRACO}) is malformed")
        data, _stride = self.doc.view(extension.get("bufferView"))
        damaged = MeshFormatError(
            f"{label} is damaged: its Draco-compressed geometry ({DRACO}) could not be decoded."
        )
        try:
            mesh = DracoPy.decode(bytes(data))
        except Exception:
            log.debug("Draco decoding failed", exc_info=True)
            raise damaged from None
        faces = getattr(mesh, "faces", None)
        if faces is None:
            raise damaged
        out: dict[str, npt.NDArray[Any]] = {
            "indices": np.asarray(faces, dtype=np.int64).reshape(-1)
        }
        for name, unique_id in extension["attributes"].items():
            if name not in attributes:
                continue
            found = mesh.get_attribute_by_unique_id(count_of(unique_id, "a Draco attribute id"))
            if found is None:
                raise damaged
            values = np.asarray(found["data"])
            values = values.reshape(values.shape[0], -1)
            accessor = self.doc.accessor_entry(attributes[name])
            dtype = component_type(accessor.get("componentType"))
            if values.dtype.kind in "ui" and dtype is not None and dtype.kind in "ui":
                values = values.astype(dtype)  # as the accessor says, so "normalized" applies
            out[name] = values
        return out

    # -- materials and textures --------------------------------------------------------

    def _material(self, index: Any) -> _MaterialUse | None:
        if index is None:
            return None
        key = count_of(index, "a material number")
        if key not in self._materials:
            self._materials[key] = self._read_material(self.doc.item("materials", key))
        return self._materials[key]

    def _read_material(self, entry: dict[str, Any]) -> _MaterialUse:
        name = _text(entry.get("name"))
        pbr = entry.get("pbrMetallicRoughness")
        pbr = pbr if isinstance(pbr, dict) else {}
        extensions = entry.get("extensions")
        extensions = extensions if isinstance(extensions, dict) else {}
        specular = extensions.get("KHR_materials_pbrSpecularGlossiness")
        if isinstance(specular, dict) and not pbr:
            self._note(
                f"The material “{name or 'unnamed'}” uses specular-glossiness, which was "
                "converted to metallic-roughness approximately."
            )
            base = _factor(specular.get("diffuseFactor"), 4, (1.0, 1.0, 1.0, 1.0))
            base_use = self._texture(specular.get("diffuseTexture"))
            glossiness = _number(specular.get("glossinessFactor"), 1.0)
            metallic, roughness = 0.0, 1.0 - min(max(glossiness, 0.0), 1.0)
            metal_use = _TextureUse(None, 0, None)
        else:
            base = _factor(pbr.get("baseColorFactor"), 4, (1.0, 1.0, 1.0, 1.0))
            base_use = self._texture(pbr.get("baseColorTexture"))
            metallic = _number(pbr.get("metallicFactor"), 1.0)
            roughness = _number(pbr.get("roughnessFactor"), 1.0)
            metal_use = self._texture(pbr.get("metallicRoughnessTexture"))
        normal_use = self._texture(entry.get("normalTexture"))
        occlusion_use = self._texture(entry.get("occlusionTexture"))
        emissive_use = self._texture(entry.get("emissiveTexture"))
        emissive = _factor(entry.get("emissiveFactor"), 3, (0.0, 0.0, 0.0), clip=False)
        strength = extensions.get("KHR_materials_emissive_strength")
        if isinstance(strength, dict):
            factor = _number(strength.get("emissiveStrength"), 1.0)
            emissive = tuple(c * factor for c in emissive)
        alpha = base[3] if entry.get("alphaMode") == "BLEND" else 1.0  # opaque ignores alpha
        material = Material(
            name=name,
            base_color=(base[0], base[1], base[2], alpha),
            base_color_texture=base_use.texture,
            metallic=min(max(metallic, 0.0), 1.0),
            roughness=min(max(roughness, 0.0), 1.0),
            metallic_roughness_texture=metal_use.texture,
            normal_texture=normal_use.texture,
            occlusion_texture=occlusion_use.texture,
            emissive=(emissive[0], emissive[1], emissive[2]),
            emissive_texture=emissive_use.texture,
            double_sided=bool(entry.get("doubleSided", False)),
        )
        uses = [base_use, metal_use, normal_use, occlusion_use, emissive_use]
        present = [u for u in uses if u.texture is not None]
        chosen = present[0] if present else base_use
        if any(
            u.tex_coord != chosen.tex_coord or not _same(u.transform, chosen.transform)
            for u in present
        ):
            self._note(
                f"The material “{name or 'unnamed'}” maps its textures in different ways; "
                "all of them are drawn the way its first one is mapped."
            )
        return _MaterialUse(material, chosen.tex_coord, chosen.transform)

    def _texture(self, info: Any) -> _TextureUse:
        if not isinstance(info, dict):
            return _TextureUse(None, 0, None)
        tex_coord = count_of(info.get("texCoord", 0), "a texture coordinate set")
        transform = None
        extensions = info.get("extensions")
        if isinstance(extensions, dict) and isinstance(extensions.get(TEXTURE_TRANSFORM), dict):
            spec = extensions[TEXTURE_TRANSFORM]
            transform = _uv_transform(spec)
            if "texCoord" in spec:
                tex_coord = count_of(spec["texCoord"], "a texture coordinate set")
        texture_entry = self.doc.item("textures", info.get("index"))
        source = texture_entry.get("source")
        texture_extensions = texture_entry.get("extensions")
        if isinstance(texture_extensions, dict):
            webp = texture_extensions.get("EXT_texture_webp")
            if isinstance(webp, dict) and "source" in webp:
                source = webp["source"]
        if source is None:
            return _TextureUse(None, tex_coord, transform)
        return _TextureUse(self._image(source), tex_coord, transform)

    def _image(self, index: Any) -> Texture | None:
        key = count_of(index, "an image number")
        if key not in self._images:
            self._images[key] = self._read_image(key, self.doc.item("images", key))
        return self._images[key]

    def _read_image(self, index: int, entry: dict[str, Any]) -> Texture | None:
        uri = entry.get("uri")
        name = _text(entry.get("name"))
        if isinstance(uri, str) and not is_data_uri(uri):
            reference = unquote(uri)
            label = f"“{reference}”"
            data = self._image_file(reference)
            if data is None:
                return None
        else:
            label = f"“{name or f'image {index + 1}'}”"
            if isinstance(uri, str):
                data = decode_data_uri(uri)
            elif "bufferView" in entry:
                data = bytes(self.doc.view(entry["bufferView"])[0])
            else:
                raise Damaged("an image has no data")
        return read_texture(data, label, self.request.limits, self.notes)

    def _image_file(self, reference: str) -> bytes | None:
        folder = self.request.path.parent
        target = resolve_reference(folder, reference)
        if target is None:
            self._note(escape_note(reference))
            return None
        if not target.is_file():
            # Exporters often flatten texture folders: try the bare name beside the model.
            flat = resolve_reference(folder, Path(reference.replace("\\", "/")).name)
            if flat is None or not flat.is_file():
                self._note(missing_note(reference))
                return None
            target = flat
        return target.read_bytes()


# -- small pure helpers ------------------------------------------------------------------


def _text(value: Any) -> str:
    return value.strip()[:200] if isinstance(value, str) else ""


def _node_name(nodes: list[dict[str, Any]], index: int) -> str:
    return _text(nodes[index].get("name")) if 0 <= index < len(nodes) else ""


def _number(value: Any, default: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return default
    return float(value)


def _factor(
    value: Any, size: int, default: tuple[float, ...], *, clip: bool = True
) -> tuple[float, ...]:
    if not isinstance(value, list) or len(value) != size:
        return default
    numbers = tuple(_number(v, d) for v, d in zip(value, default, strict=True))
    return tuple(min(max(v, 0.0), 1.0) for v in numbers) if clip else numbers


def _has_texture(material: Material) -> bool:
    return any(
        t is not None
        for t in (
            material.base_color_texture,
            material.metallic_roughness_texture,
            material.normal_texture,
            material.occlusion_texture,
            material.emissive_texture,
        )
    )


def _same(a: Float64Array | None, b: Float64Array | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(np.allclose(a, b))


def _uv_transform(spec: dict[str, Any]) -> Float64Array:
    """KHR_texture_transform as a 2x3 matrix: scale, then rotate, then offset.

    The rotation turns UVs counter-clockwise, ``u' = u cos r + v sin r`` and
    ``v' = v cos r - u sin r``: what the specification's example ("the lower left quadrant,
    rotated clockwise 90°") and its sample model show, and what three.js and Cesium do.
    """
    offset = _factor(spec.get("offset"), 2, (0.0, 0.0), clip=False)
    scale = _factor(spec.get("scale"), 2, (1.0, 1.0), clip=False)
    rotation = _number(spec.get("rotation"), 0.0)
    c, s = math.cos(rotation), math.sin(rotation)
    return np.array(
        [
            [c * scale[0], s * scale[1], offset[0]],
            [-s * scale[0], c * scale[1], offset[1]],
        ]
    )


def _weights(
    mesh: dict[str, Any], places: list[_Placement], nodes: list[dict[str, Any]]
) -> Float64Array | None:
    """The morph weights a mesh is shown with (the mesh's, or its first node's)."""
    value = mesh.get("weights")
    for place in places:
        if 0 <= place.node < len(nodes) and isinstance(nodes[place.node].get("weights"), list):
            value = nodes[place.node]["weights"]
            break
    if not isinstance(value, list) or not value:
        return None
    weights = np.array([_number(w, 0.0) for w in value], dtype=np.float64)
    return weights if weights.any() else None


def _faces(corners: Int64Array, mode: int) -> Int64Array:
    if mode == _TRIANGLES:
        usable = corners.shape[0] - corners.shape[0] % 3
        return corners[:usable].reshape(-1, 3)
    if corners.shape[0] < 3:
        return np.zeros((0, 3), dtype=np.int64)
    i = np.arange(corners.shape[0] - 2)
    if mode == _STRIP:
        # p_i = (v_i, v_{i+1+i%2}, v_{i+2-i%2}): every other triangle swaps to keep winding.
        odd = i % 2
        return np.column_stack([corners[i], corners[i + 1 + odd], corners[i + 2 - odd]])
    return np.column_stack([corners[i + 1], corners[i + 2], np.full_like(i, corners[0])])


def _colors(raw: npt.NDArray[Any], n: int) -> UInt8Array | None:
    if raw.shape[0] != n:
        return None
    if raw.dtype.kind == "f":
        values = np.nan_to_num(raw.astype(np.float64), nan=0.0, posinf=1.0, neginf=0.0)
        rgba = np.clip(np.round(values * 255.0), 0, 255).astype(np.uint8)
    elif raw.dtype == np.uint8:
        rgba = raw.astype(np.uint8)
    elif raw.dtype == np.uint16:
        rgba = (raw >> 8).astype(np.uint8)
    else:
        return None
    if rgba.shape[1] == 3:
        rgba = np.column_stack([rgba, np.full(n, 255, dtype=np.uint8)])
    return np.ascontiguousarray(rgba)


def _local_matrix(node: dict[str, Any]) -> Float64Array:
    try:
        if "matrix" in node:
            matrix = np.asarray(node["matrix"], dtype=np.float64)
            if matrix.shape != (16,):
                raise Damaged("a node's transform is malformed")
            local = matrix.reshape(4, 4).T  # glTF stores matrices column by column
        else:
            local = np.eye(4)
            if "scale" in node:
                local[[0, 1, 2], [0, 1, 2]] = np.asarray(node["scale"], dtype=np.float64)
            if "rotation" in node:
                quaternion = np.asarray(node["rotation"], dtype=np.float64)
                local = _rotation_matrices(quaternion.reshape(1, 4))[0] @ local
            if "translation" in node:
                local[:3, 3] = np.asarray(node["translation"], dtype=np.float64)
    except (ValueError, TypeError):
        raise Damaged("a node's transform is malformed") from None
    if not np.isfinite(local).all():
        raise Damaged("a node's transform is not numbers")
    return local


def _rotation_matrices(quaternions: Float64Array) -> Float64Array:
    """``(k, 4)`` unit quaternions ``(x, y, z, w)`` as ``(k, 4, 4)`` rotation matrices."""
    q = np.asarray(quaternions, dtype=np.float64)
    if q.ndim != 2 or q.shape[1] != 4 or not np.isfinite(q).all():
        raise Damaged("a rotation is malformed")
    length = np.linalg.norm(q, axis=1, keepdims=True)
    q = np.divide(q, length, out=np.tile([0.0, 0.0, 0.0, 1.0], (len(q), 1)), where=length > 0)
    x, y, z, w = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    out = np.tile(np.eye(4), (len(q), 1, 1))
    out[:, 0, 0] = 1 - 2 * (y * y + z * z)
    out[:, 0, 1] = 2 * (x * y - z * w)
    out[:, 0, 2] = 2 * (x * z + y * w)
    out[:, 1, 0] = 2 * (x * y + z * w)
    out[:, 1, 1] = 1 - 2 * (x * x + z * z)
    out[:, 1, 2] = 2 * (y * z - x * w)
    out[:, 2, 0] = 2 * (x * z - y * w)
    out[:, 2, 1] = 2 * (y * z + x * w)
    out[:, 2, 2] = 1 - 2 * (x * x + y * y)
    return out


def _part(geometry: _Geometry, matrices: Float64Array, name: str) -> Part:
    """The geometry placed by each of ``matrices`` (``(k, 4, 4)``), as one part."""
    k = matrices.shape[0]
    n = geometry.vertices.shape[0]
    m = geometry.faces.shape[0]
    linear = matrices[:, :3, :3]
    vertices = np.empty((k * n, 3), dtype=np.float32)
    step = max(1, _CHUNK_VERTICES // max(n, 1))
    for start in range(0, k, step):
        stop = min(start + step, k)
        placed = np.einsum("kij,nj->kni", linear[start:stop], geometry.vertices)
        placed += matrices[start:stop, None, :3, 3]
        vertices[start * n : stop * n] = placed.reshape(-1, 3)
    determinant = np.linalg.det(linear)
    faces = np.empty((k, m, 3), dtype=np.int32)
    faces[:] = geometry.faces
    mirrored = determinant < 0
    if mirrored.any():
        faces[mirrored] = geometry.faces[:, ::-1]  # a mirroring transform turns faces inside out
    faces += (np.arange(k, dtype=np.int32) * n)[:, None, None]
    normals = None
    if geometry.normals is not None and bool(np.all(np.abs(determinant) > 1e-300)):
        inverse = np.linalg.inv(linear).transpose(0, 2, 1)
        turned = np.einsum("kij,nj->kni", inverse, geometry.normals.astype(np.float64))
        turned = turned.reshape(-1, 3)
        length = np.linalg.norm(turned, axis=1, keepdims=True)
        normals = np.divide(turned, length, out=np.zeros_like(turned), where=length > 0)
        normals = np.ascontiguousarray(normals, dtype=np.float32)
    return Part(
        vertices=vertices,
        faces=faces.reshape(-1, 3),
        name=name,
        normals=normals,
        uv=None if geometry.uv is None else np.tile(geometry.uv, (k, 1)),
        colors=None if geometry.colors is None else np.tile(geometry.colors, (k, 1)),
        material=geometry.material,
    )
