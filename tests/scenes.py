"""Small scenes built in code, for tests that don't need a file."""

from __future__ import annotations

import numpy as np

from studio.meshes.scene import Material, MeshFormat, Part, Scene, Texture


def box_part(size: tuple[float, float, float] = (10.0, 20.0, 30.0), *, soup: bool = False) -> Part:
    """An axis-aligned box from the origin to ``size``, outward winding."""
    sx, sy, sz = size
    v = np.array(
        [
            [0, 0, 0],
            [sx, 0, 0],
            [sx, sy, 0],
            [0, sy, 0],
            [0, 0, sz],
            [sx, 0, sz],
            [sx, sy, sz],
            [0, sy, sz],
        ],
        dtype=np.float32,
    )
    f = np.array(
        [
            [0, 2, 1],
            [0, 3, 2],
            [4, 5, 6],
            [4, 6, 7],
            [0, 1, 5],
            [0, 5, 4],
            [1, 2, 6],
            [1, 6, 5],
            [2, 3, 7],
            [2, 7, 6],
            [3, 0, 4],
            [3, 4, 7],
        ],
        dtype=np.int32,
    )
    if soup:
        return Part(vertices=np.ascontiguousarray(v[f].reshape(-1, 3)), name="box")
    return Part(vertices=v, faces=f, name="box")


def box_scene(
    size: tuple[float, float, float] = (10.0, 20.0, 30.0),
    *,
    soup: bool = False,
    fmt: MeshFormat = MeshFormat.STL_BINARY,
) -> Scene:
    return Scene(parts=[box_part(size, soup=soup)], format=fmt)


def textured_quad_scene() -> Scene:
    """A 20 mm square facing +Z whose texture is red on the left half, green on the right."""
    image = np.zeros((8, 8, 3), dtype=np.uint8)
    image[:, :4] = (230, 20, 20)
    image[:, 4:] = (20, 200, 40)
    vertices = np.array([[0, 0, 0], [20, 0, 0], [20, 20, 0], [0, 20, 0]], dtype=np.float32)
    faces = np.array([[0, 1, 2], [0, 2, 3]], dtype=np.int32)
    uv = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float32)
    material = Material(
        name="checker", base_color=(1, 1, 1, 1), base_color_texture=Texture(image=image)
    )
    part = Part(vertices=vertices, faces=faces, uv=uv, material=material, name="quad")
    return Scene(parts=[part], format=MeshFormat.STL_BINARY)


def sphere_triangles(radius: float = 20.0, rings: int = 24, segments: int = 48) -> np.ndarray:
    """``(n, 3, 3)`` float32 corners of a UV sphere around the origin, outward winding."""
    theta = np.linspace(0.0, np.pi, rings + 1)
    phi = np.linspace(0.0, 2 * np.pi, segments + 1)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    grid = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], -1) * radius
    a, b = grid[:-1, :-1], grid[1:, :-1]
    c, d = grid[1:, 1:], grid[:-1, 1:]
    quads = np.concatenate([np.stack([a, b, c], -2), np.stack([a, c, d], -2)])
    tris = quads.reshape(-1, 3, 3)
    area = np.linalg.norm(np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0]), axis=1)
    return np.ascontiguousarray(tris[area > 1e-9], dtype=np.float32)


def binary_stl_bytes(triangles: np.ndarray) -> bytes:
    """A binary STL of ``triangles`` (``(n, 3, 3)``), facet normals left zero."""
    import struct

    records = np.zeros(
        len(triangles),
        dtype=np.dtype([("normal", "<f4", 3), ("corners", "<f4", (3, 3)), ("attr", "<u2")]),
    )
    records["corners"] = triangles
    return b"kiln test".ljust(80, b"\0") + struct.pack("<I", len(triangles)) + records.tobytes()
