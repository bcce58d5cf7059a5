"""Make the sample model shown on first launch: resources/sample/kiln-vase.glb.

A thrown-and-glazed stoneware vase, built procedurally: the body is a closed surface
of revolution (outer wall, rounded lip, inner wall, floor), the handle a closed swept
tube, both watertight. An amber glaze with iron speckles runs down over a bare clay
foot; the metallic-roughness texture makes the glaze glossy and the clay matte.
Sizes are millimetres; the vase stands 120 mm tall.

Run from the repository root: ``python resources/make_sample.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from studio.meshes import Material, MeshFormat, Part, Scene, Texture, export  # noqa: E402

FloatArray = npt.NDArray[np.float64]

SEGMENTS = 72  # around the axis
HEIGHT = 120.0
WALL = 3.0
FLOOR = 6.0
RNG = np.random.default_rng(1987)


def outer_radius(z: FloatArray) -> FloatArray:
    """The outer silhouette: a turned foot, a full low belly, a long neck, a flared lip."""
    from scipy.interpolate import PchipInterpolator

    heights = [0.0, 4.0, 12.0, 32.0, 50.0, 70.0, 88.0, 102.0, 112.0, HEIGHT]
    radii = [27.0, 28.0, 33.0, 46.0, 49.0, 41.0, 25.0, 19.5, 21.0, 27.0]
    return np.asarray(PchipInterpolator(heights, radii)(z), dtype=np.float64)


def profile() -> tuple[FloatArray, FloatArray, FloatArray]:
    """(r, z, v): the closed profile from the outer bottom pole to the inner floor pole.

    ``v`` runs 0 → 1 along the profile and becomes the texture's vertical coordinate.
    """
    z_out = np.linspace(0.0, HEIGHT - WALL / 2, 48)
    r_out = outer_radius(z_out)
    # A rounded lip: a half circle joining the outer and inner walls.
    top = HEIGHT - WALL / 2
    r_top = outer_radius(np.array([top]))[0] - WALL / 2
    angle = np.linspace(0, np.pi, 9)[1:-1]
    r_lip = r_top + (WALL / 2) * np.cos(angle)
    z_lip = top + (WALL / 2) * np.sin(angle)
    z_in = z_out[::-1]
    z_in = z_in[z_in > FLOOR + 0.5]
    r_in = outer_radius(z_in) - WALL
    r = np.concatenate([[0.0, 22.0], r_out, r_lip, r_in, [0.0]])
    z = np.concatenate([[0.0, 0.0], z_out, z_lip, z_in, [FLOOR]])
    # The floor of the foot is recessed slightly so the vase sits on a ring.
    z[0] = 1.2
    length = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(r), np.diff(z)))])
    return r, z, length / length[-1]


def revolve(r: FloatArray, z: FloatArray, v: FloatArray) -> Part:
    """Spin the profile about z. The seam column is doubled for UVs; poles are fans."""
    n = len(r)
    theta = np.linspace(0.0, 2 * np.pi, SEGMENTS + 1)
    u = theta / (2 * np.pi)
    rings = np.arange(1, n - 1)
    # Ring vertices: (ring, segment) → index.
    ring_r, ring_t = np.meshgrid(r[rings], theta, indexing="ij")
    ring_z, ring_u = np.meshgrid(z[rings], u, indexing="ij")
    ring_v = np.broadcast_to(v[rings][:, None], ring_r.shape)
    vertices = [np.column_stack([(ring_r * np.cos(ring_t)).ravel(),
                                 (ring_r * np.sin(ring_t)).ravel(), ring_z.ravel()])]  # fmt: skip
    uv = [np.column_stack([ring_u.ravel(), ring_v.ravel()])]
    width = SEGMENTS + 1

    def at(ring: int, segment: FloatArray | int) -> FloatArray:
        return (ring * width + np.asarray(segment)).astype(np.int64)

    faces = []
    segment = np.arange(SEGMENTS)
    for ring in range(len(rings) - 1):
        a, b = at(ring, segment), at(ring, segment + 1)
        c, d = at(ring + 1, segment + 1), at(ring + 1, segment)
        faces += [np.column_stack([a, b, c]), np.column_stack([a, c, d])]
    # One pole vertex per segment so each fan triangle gets its own u.
    base = len(rings) * width
    for pole, ring, flip in ((0, 0, False), (n - 1, len(rings) - 1, True)):
        poles = base + segment
        vertices.append(np.column_stack([np.zeros(SEGMENTS), np.zeros(SEGMENTS),
                                         np.full(SEGMENTS, z[pole])]))  # fmt: skip
        uv.append(np.column_stack([(segment + 0.5) / SEGMENTS, np.full(SEGMENTS, v[pole])]))
        tri = np.column_stack([poles, at(ring, segment + 1), at(ring, segment)])
        faces.append(tri[:, ::-1] if flip else tri)
        base += SEGMENTS
    return Part(
        vertices=np.concatenate(vertices).astype(np.float32),
        faces=np.concatenate(faces).astype(np.int32),
        name="vase",
        uv=np.concatenate(uv).astype(np.float32),
    )


def handle() -> Part:
    """A closed tube swept along a cubic curve from the belly to the neck."""
    steps, around = 48, 16
    t = np.linspace(0.0, 1.0, steps)[:, None]
    z0, z1 = 50.0, 100.0
    p0 = np.array([outer_radius(np.array([z0]))[0] - 2.0, 0.0, z0])
    p3 = np.array([outer_radius(np.array([z1]))[0] - 2.0, 0.0, z1])
    p1 = np.array([p0[0] + 42.0, 0.0, z0 + 4.0])
    p2 = np.array([p3[0] + 40.0, 0.0, z1 + 14.0])
    path = (1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t**2 * p2 + t**3 * p3
    tangent = np.gradient(path, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    side = np.array([0.0, 1.0, 0.0])
    normal = np.cross(side, tangent)
    angle = np.linspace(0.0, 2 * np.pi, around, endpoint=False)
    # An oval section, wider than deep, like a pulled handle.
    offsets = (
        5.5 * np.cos(angle)[None, :, None] * side
        + 3.5 * np.sin(angle)[None, :, None] * (normal[:, None, :])
    )
    ring = path[:, None, :] + offsets
    vertices = ring.reshape(-1, 3)
    faces = []
    k = np.arange(around)
    for i in range(steps - 1):
        a, b = i * around + k, i * around + (k + 1) % around
        c, d = (i + 1) * around + (k + 1) % around, (i + 1) * around + k
        faces += [np.column_stack([a, b, c]), np.column_stack([a, c, d])]
    centres = len(vertices) + np.array([0, 1])
    vertices = np.concatenate([vertices, path[[0, -1]]])
    last = (steps - 1) * around
    faces.append(np.column_stack([np.full(around, centres[0]), (k + 1) % around, k]))
    faces.append(np.column_stack([np.full(around, centres[1]), last + k, last + (k + 1) % around]))
    along = np.repeat(np.linspace(0.15, 0.6, steps), around)
    uv = np.column_stack([np.tile(angle / (2 * np.pi), steps), along])
    uv = np.concatenate([uv, [[0.5, 0.15], [0.5, 0.6]]])
    return Part(
        vertices=vertices.astype(np.float32),
        faces=np.concatenate(faces).astype(np.int32),
        name="handle",
        uv=uv.astype(np.float32),
    )


def outward(part: Part) -> Part:
    """Flip a closed part whose faces point inward (negative signed volume)."""
    assert part.faces is not None
    tris = part.vertices[part.faces].astype(np.float64)
    signed = np.einsum("ij,ij->i", tris[:, 0], np.cross(tris[:, 1], tris[:, 2])).sum()
    if signed < 0:
        part.faces = np.ascontiguousarray(part.faces[:, ::-1])
    return part


def smooth_noise(shape: tuple[int, int], scale: int) -> FloatArray:
    """Low-frequency noise in 0..1 (bilinear upsampling of a coarse random grid)."""
    from PIL import Image

    coarse = RNG.random((shape[0] // scale + 2, shape[1] // scale + 2))
    image = Image.fromarray((coarse * 255).astype(np.uint8)).resize(
        (shape[1], shape[0]), Image.Resampling.BICUBIC
    )
    return np.asarray(image, dtype=np.float64) / 255.0


def glaze_textures(v_foot: float) -> tuple[Texture, Texture]:
    """(base colour, metallic-roughness): amber glaze dripping over a bare clay foot.

    Rows are v from top (row 0, v = 1) to bottom (v = 0); columns run around the vase.
    """
    height, width = 256, 512
    v = np.linspace(1.0, 0.0, height)[:, None]
    u = np.linspace(0.0, 1.0, width, endpoint=False)[None, :]
    # The glaze line: where drips end, varying around the vase.
    drips = 0.035 * np.sin(2 * np.pi * 7 * u) + 0.05 * smooth_noise((1, width), 16)[0][None, :]
    runs = np.clip(smooth_noise((1, width), 3)[0][None, :] - 0.75, 0.0, None) * 0.35
    edge = v_foot + 0.02 - drips - runs
    glazed = np.clip((v - edge) / 0.012, 0.0, 1.0)
    # Glaze pools darker where it is thick: near the lip and just above the drip line.
    thick = np.exp(-(((v - edge - 0.03) / 0.03) ** 2)) + 0.6 * np.exp(-(((v - 0.55) / 0.05) ** 2))
    honey = np.array([214.0, 140.0, 52.0])
    tenmoku = np.array([96.0, 44.0, 20.0])
    variation = smooth_noise((height, width), 24)[..., None]
    glaze = (
        honey * (1 - 0.55 * np.clip(thick, 0, 1)[..., None])
        + tenmoku * 0.55 * np.clip(thick, 0, 1)[..., None]
    )
    glaze = glaze * (0.9 + 0.2 * variation)
    # Throwing rings: faint horizontal bands.
    glaze *= (1.0 + 0.025 * np.sin(2 * np.pi * 36 * v))[..., None]
    clay = (
        np.array([176.0, 112.0, 78.0]) * (0.92 + 0.16 * smooth_noise((height, width), 8))[..., None]
    )
    colour = glaze * glazed[..., None] + clay * (1 - glazed[..., None])
    # Iron speckles in the glaze.
    speckles = (RNG.random((height, width)) > 0.997) & (glazed > 0.5)
    # Texels are about twice as tall as wide on the vase: widen the spots to stay round.
    speckles |= np.roll(speckles, 1, axis=1)
    colour[speckles] *= 0.45
    base = Texture(np.clip(colour, 0, 255).astype(np.uint8), "kiln-vase glaze")
    roughness = 0.18 * glazed + 0.85 * (1 - glazed) + 0.05 * variation[..., 0]
    mr = np.zeros((height // 4, width // 4, 3), dtype=np.uint8)
    mr[..., 1] = np.clip(roughness[::4, ::4] * 255, 0, 255).astype(np.uint8)  # G: roughness
    mr[..., 2] = 0  # B: metallic (none: glaze and clay are dielectrics)
    return base, Texture(mr, "kiln-vase roughness")


def build() -> Scene:
    r, z, v = profile()
    body = outward(revolve(r, z, v))
    foot_index = int(np.argmax(z > 18.0))
    base, roughness = glaze_textures(float(v[foot_index]))
    glaze = Material(
        name="amber glaze",
        base_color=(1.0, 1.0, 1.0, 1.0),
        base_color_texture=base,
        metallic=0.0,
        roughness=1.0,  # scaled by the texture's green channel
        metallic_roughness_texture=roughness,
    )
    body.material = glaze
    grip = outward(handle())
    grip.material = glaze
    # Modelled Z-up; glTF is Y-up by its spec, so turn it -90° about X: (x, y, z) -> (x, z, -y).
    for part in (body, grip):
        part.vertices = np.ascontiguousarray(part.vertices[:, [0, 2, 1]] * [1, 1, -1], np.float32)
        if part.normals is not None:
            part.normals = np.ascontiguousarray(part.normals[:, [0, 2, 1]] * [1, 1, -1], np.float32)
    return Scene([body, grip], MeshFormat.GLB, unit="millimeter")


def main() -> None:
    target = ROOT / "resources" / "sample" / "kiln-vase.glb"
    written = export(build(), target)
    for path in written:
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    main()
