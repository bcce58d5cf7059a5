"""Make the studio environment the viewport lights PBR materials with (studio.hdr).

A photographer's studio as an equirectangular Radiance HDR (RGBE, run-length encoded),
built procedurally so nothing third-party is shipped: a dim grey room that is brighter
towards the horizon, a warm floor, one large soft box overhead, a key box front-left, a
long strip light on the right and a rim light behind. Metals and glazes reflect the boxes
as soft highlights instead of the scatter of dots a handful of point lights leaves.

Lights are placed by (right, up, front) as the viewer sees the model in its default
view; :func:`towards` turns that into the map's own directions, which VTK lays out with
the map's -Z along the renderer's "environment right", +Y along its "up" and +X along
right × up (the side facing the default camera). The viewport sets right = +X and up to
the model's up axis, so the key light is always in front, on the left, above.

Run from the repository root: ``python resources/make_environment.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "resources" / "environment" / "studio.hdr"
WIDTH, HEIGHT = 512, 256

FloatArray = npt.NDArray[np.float32]


def directions(width: int, height: int) -> FloatArray:
    """Unit view directions of each pixel's centre, (height, width, 3), Y up, -Z at u=0.5."""
    u = (np.arange(width, dtype=np.float32) + 0.5) / width
    v = (np.arange(height, dtype=np.float32) + 0.5) / height
    phi = (u - 0.5) * 2 * np.pi  # around the up axis
    theta = v * np.pi  # from straight up (0) to straight down (pi)
    sin_t = np.sin(theta)[:, None]
    x = sin_t * np.sin(phi)[None, :]
    y = np.repeat(np.cos(theta)[:, None], width, axis=1)
    z = -sin_t * np.cos(phi)[None, :]
    return np.stack([x, y, z], axis=-1).astype(np.float32)


def towards(right: float, up: float, front: float) -> tuple[float, float, float]:
    """A direction given as the viewer sees it, in the map's coordinates."""
    return (front, up, -right)


def soft_box(
    d: FloatArray,
    centre: tuple[float, float, float],
    half_size: tuple[float, float],
    intensity: tuple[float, float, float],
    softness: float = 0.08,
) -> FloatArray:
    """A rectangular light facing the origin: ``half_size`` in radians across and along."""
    c = np.asarray(centre, dtype=np.float32)
    c /= np.linalg.norm(c)
    # Two axes across the box: one horizontal, one "up" in the box's own frame.
    helper = np.array([0, 1, 0], dtype=np.float32) if abs(c[1]) < 0.9 else np.array([1, 0, 0])
    a = np.cross(helper, c)
    a /= np.linalg.norm(a)
    b = np.cross(c, a)
    facing = d @ c
    across = np.arctan2(d @ a, facing)
    along = np.arctan2(d @ b, facing)

    def edge(x: FloatArray, half: float) -> FloatArray:
        return np.clip((half - np.abs(x)) / softness + 0.5, 0.0, 1.0)

    mask = edge(across, half_size[0]) * edge(along, half_size[1]) * (facing > 0)
    return mask[..., None] * np.asarray(intensity, dtype=np.float32)


def build() -> FloatArray:
    d = directions(WIDTH, HEIGHT)
    up = d[..., 1:2]
    # The room: darker overhead, a lighter band at the horizon, a warm grey floor.
    wall = np.array([0.10, 0.105, 0.12], dtype=np.float32)
    horizon = np.array([0.30, 0.30, 0.31], dtype=np.float32)
    floor = np.array([0.14, 0.12, 0.10], dtype=np.float32)
    band = np.exp(-((up / 0.22) ** 2))
    room = np.where(up > 0, wall + (horizon - wall) * band, floor + (horizon - floor) * band)
    light = (
        # A large soft box overhead, slightly towards the viewer.
        soft_box(d, towards(0.0, 1.0, 0.15), (0.38, 0.28), (4.0, 3.95, 3.8), softness=0.12)
        # The key: front-left, above.
        + soft_box(d, towards(-0.75, 0.5, 0.8), (0.26, 0.34), (6.0, 5.7, 5.2))
        # A tall strip on the right, a little behind.
        + soft_box(d, towards(1.0, 0.2, -0.25), (0.07, 0.55), (2.6, 2.8, 3.1))
        # A rim light behind, above.
        + soft_box(d, towards(0.2, 0.4, -1.0), (0.30, 0.16), (2.0, 2.05, 2.3))
    )
    return (room + light).astype(np.float32)


def to_rgbe(image: FloatArray) -> npt.NDArray[np.uint8]:
    """Radiance's shared-exponent encoding: mantissas in RGB, a common exponent in E."""
    brightest = image.max(axis=-1)
    mantissa, exponent = np.frexp(brightest)
    scale = np.where(brightest > 1e-32, mantissa * 256.0 / np.maximum(brightest, 1e-32), 0.0)
    rgbe = np.zeros((*image.shape[:2], 4), dtype=np.uint8)
    rgbe[..., :3] = np.clip(image * scale[..., None], 0, 255).astype(np.uint8)
    rgbe[..., 3] = np.where(brightest > 1e-32, exponent + 128, 0).astype(np.uint8)
    return rgbe


def _rle(channel: npt.NDArray[np.uint8]) -> bytes:
    """One channel of one scanline in Radiance's run-length encoding."""
    out = bytearray()
    i, n = 0, len(channel)
    while i < n:
        run = 1
        while i + run < n and run < 127 and channel[i + run] == channel[i]:
            run += 1
        if run >= 3:
            out += bytes([128 + run, int(channel[i])])
            i += run
            continue
        start = i
        while i < n and i - start < 128:
            if i + 2 < n and channel[i] == channel[i + 1] == channel[i + 2]:
                break
            i += 1
        out += bytes([i - start]) + channel[start:i].tobytes()
    return bytes(out)


def encode_hdr(image: FloatArray) -> bytes:
    height, width = image.shape[:2]
    rgbe = to_rgbe(image)
    out = bytearray(b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n")
    out += f"-Y {height} +X {width}\n".encode("ascii")
    for row in rgbe:
        out += bytes([2, 2, width >> 8, width & 0xFF])
        for c in range(4):
            out += _rle(row[:, c])
    return bytes(out)


def main() -> None:
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_bytes(encode_hdr(build()))
    print(f"{TARGET.relative_to(ROOT)}: {TARGET.stat().st_size / 1024:.0f} KB")


if __name__ == "__main__":
    sys.exit(main())
