"""The one in-memory model every format loads into and exports from.

A :class:`Scene` is a list of :class:`Part` objects with transforms already applied.
Arrays are float32 positions and int32 triangle indices, never per-vertex Python objects,
so a 5-million-triangle file stays a handful of numpy arrays.

A part may be a *triangle soup* (``faces is None``): every three consecutive vertices form
one triangle. Binary STL loads this way because it is the fastest path to the first frame;
merging coincident corners is left to :mod:`studio.meshes.stats` and to repair.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

Float32Array = npt.NDArray[np.float32]
Int32Array = npt.NDArray[np.int32]
UInt8Array = npt.NDArray[np.uint8]


class MeshFormat(enum.Enum):
    """Formats known by their bytes. ``value`` is what the CLI's JSON prints."""

    STL_BINARY = "stl-binary"
    STL_ASCII = "stl-ascii"
    OBJ = "obj"
    GLB = "glb"
    GLTF = "gltf"
    PLY_ASCII = "ply-ascii"
    PLY_BINARY = "ply-binary"
    OFF = "off"
    THREEMF = "3mf"

    @property
    def family(self) -> str:
        """The format's everyday name ("STL", "PLY", ...)."""
        return _FAMILY[self]


_FAMILY = {
    MeshFormat.STL_BINARY: "STL",
    MeshFormat.STL_ASCII: "STL",
    MeshFormat.OBJ: "OBJ",
    MeshFormat.GLB: "GLB",
    MeshFormat.GLTF: "glTF",
    MeshFormat.PLY_ASCII: "PLY",
    MeshFormat.PLY_BINARY: "PLY",
    MeshFormat.OFF: "OFF",
    MeshFormat.THREEMF: "3MF",
}


@dataclass(eq=False)
class Texture:
    """A decoded image: ``(height, width, 3 or 4)`` uint8, first row at the top."""

    image: UInt8Array
    name: str = ""


@dataclass(eq=False)
class Material:
    """A metallic-roughness PBR material (glTF's model); OBJ/MTL maps onto it."""

    name: str = ""
    base_color: tuple[float, float, float, float] = (0.8, 0.8, 0.8, 1.0)
    base_color_texture: Texture | None = None
    metallic: float = 0.0
    roughness: float = 0.8
    metallic_roughness_texture: Texture | None = None
    normal_texture: Texture | None = None
    occlusion_texture: Texture | None = None
    emissive: tuple[float, float, float] = (0.0, 0.0, 0.0)
    emissive_texture: Texture | None = None
    double_sided: bool = False

    @property
    def is_pbr(self) -> bool:
        """True when the material has more than a base colour to show."""
        return (
            any(
                t is not None
                for t in (
                    self.metallic_roughness_texture,
                    self.normal_texture,
                    self.emissive_texture,
                )
            )
            or self.metallic > 0.0
        )


@dataclass(eq=False)
class Part:
    """One mesh of a scene, in scene coordinates.

    ``vertices`` is ``(n, 3)`` float32. ``faces`` is ``(m, 3)`` int32 or ``None`` for a
    triangle soup (``n == 3 * m``). ``normals`` is per vertex, ``uv`` ``(n, 2)`` with
    (0, 0) at the image's bottom-left as in OpenGL, ``colors`` ``(n, 4)`` uint8.
    """

    vertices: Float32Array
    faces: Int32Array | None = None
    name: str = ""
    normals: Float32Array | None = None
    uv: Float32Array | None = None
    colors: UInt8Array | None = None
    material: Material | None = None

    @property
    def n_vertices(self) -> int:
        return int(self.vertices.shape[0])

    @property
    def n_faces(self) -> int:
        if self.faces is None:
            return int(self.vertices.shape[0]) // 3
        return int(self.faces.shape[0])

    @property
    def is_soup(self) -> bool:
        return self.faces is None

    def face_indices(self) -> Int32Array:
        """``(m, 3)`` indices; materialised as ``arange`` for a soup."""
        if self.faces is not None:
            return self.faces
        return np.arange(self.n_faces * 3, dtype=np.int32).reshape(-1, 3)

    def triangles(self) -> Float32Array:
        """``(m, 3, 3)`` corner positions (a view for a soup, a gather otherwise)."""
        if self.faces is None:
            return self.vertices.reshape(-1, 3, 3)
        return self.vertices[self.faces]


@dataclass(eq=False)
class Scene:
    """What a file holds: its parts, plus where it came from."""

    parts: list[Part]
    format: MeshFormat
    file_size: int = 0
    #: The unit the file declares (3MF does; STL/OBJ/PLY/OFF don't), e.g. "millimeter".
    unit: str | None = None
    #: Plain notes about the load, e.g. "The file is named .stl but holds OBJ text."
    notes: list[str] = field(default_factory=list)

    @property
    def n_faces(self) -> int:
        return sum(p.n_faces for p in self.parts)

    def bounds(self) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
        """Axis-aligned bounds ``((xmin, ymin, zmin), (xmax, ymax, zmax))`` of used vertices."""
        lo = np.full(3, np.inf)
        hi = np.full(3, -np.inf)
        for part in self.parts:
            if part.n_vertices == 0:
                continue
            # Reduce each column of the flat buffer: much faster than min(axis=0) on (n, 3).
            flat = part.vertices.reshape(-1)
            for axis in range(3):
                column = flat[axis::3]
                lo[axis] = min(lo[axis], float(column.min()))
                hi[axis] = max(hi[axis], float(column.max()))
        if not np.all(np.isfinite(lo)):
            return ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
        return (
            (float(lo[0]), float(lo[1]), float(lo[2])),
            (float(hi[0]), float(hi[1]), float(hi[2])),
        )
