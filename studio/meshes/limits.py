"""Limits that keep a hostile or huge file from exhausting memory or disk.

The defaults suit a desktop; the designer can change them in Settings, and every
message that mentions a limit says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from studio.meshes.errors import MeshLimitError, file_label

GIB = 1024**3
#: 64 "megapixels" of 2**20: an 8192 × 8192 texture, the largest in common use, fits.
DEFAULT_TEXTURE_PIXELS = 8192 * 8192
#: A texture this many times over the pixel limit is not decoded at all: a PNG of a few
#: hundred kilobytes can claim a billion pixels (gigabytes once decoded).
TEXTURE_BOMB_FACTOR = 4


@dataclass(frozen=True)
class Limits:
    """How big a model file may be.

    Parameters
    ----------
    max_file_size
        Bytes on disk.
    max_triangles
        Triangles in the whole scene.
    max_unzipped_size
        Bytes a 3MF archive may expand to.
    max_zip_ratio
        How many times larger than its compressed size a 3MF entry may be.
    max_texture_pixels
        Pixels (width × height) a texture keeps; a larger one is scaled down to fit, and
        one more than :data:`TEXTURE_BOMB_FACTOR` times larger is left out.
    """

    max_file_size: int = 2 * GIB
    max_triangles: int = 50_000_000
    max_unzipped_size: int = 4 * GIB
    max_zip_ratio: float = 200.0
    max_texture_pixels: int = DEFAULT_TEXTURE_PIXELS


def human_size(n_bytes: float) -> str:
    """``1536`` → ``"1.5 KB"``: sizes as a designer reads them."""
    size = float(n_bytes)
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{int(size)} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"  # pragma: no cover - the loop always returns


def check_file_size(path: Path, size: int, limits: Limits) -> None:
    """Refuse a file larger than ``limits.max_file_size`` before reading a byte of it."""
    if size > limits.max_file_size:
        raise MeshLimitError(
            f"{file_label(path)} is {human_size(size)}, more than the "
            f"{human_size(limits.max_file_size)} limit. You can raise the limit in Settings."
        )


def check_triangles(path: Path, n_triangles: int, limits: Limits) -> None:
    """Refuse a model with more triangles than ``limits.max_triangles``."""
    if n_triangles > limits.max_triangles:
        raise MeshLimitError(
            f"{file_label(path)} has {n_triangles:,} triangles, more than the "
            f"{limits.max_triangles:,} limit. You can raise the limit in Settings."
        )
