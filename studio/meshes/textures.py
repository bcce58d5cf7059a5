"""Texture images from model files, kept within the pixel limit set in Settings.

A PNG of a few hundred kilobytes can claim a hundred megapixels or more, which costs
gigabytes once decoded. Every image a reader decodes goes through here: the size in its
header is checked before any pixel is decoded; a texture over
:attr:`~studio.meshes.limits.Limits.max_texture_pixels` is scaled down to fit, one far
over it is left out, and each of those says so in the load's notes. Pillow's own
decompression-bomb warning never reaches the terminal: this limit is the one that counts.
"""

from __future__ import annotations

import io
import logging
import math
import struct
import warnings

import numpy as np
from PIL import Image

from studio.meshes.limits import TEXTURE_BOMB_FACTOR, Limits
from studio.meshes.scene import Texture, UInt8Array

log = logging.getLogger(__name__)

#: What decoding a damaged image raises, across Pillow's plugins.
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error, IndexError)


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1e6:,.0f}" if pixels >= 10e6 else f"{pixels / 1e6:,.1f}"


def _note(notes: list[str], note: str) -> None:
    if note not in notes:
        notes.append(note)


def _open(
    data: bytes, label: str, limits: Limits, notes: list[str]
) -> tuple[Image.Image | None, bool]:
    """The image fitted to the limit (or ``None``), and whether it had to be scaled down."""
    try:
        with warnings.catch_warnings():
            # Pillow warns past ~89 MP and refuses past ~179 MP at open; our limit decides.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        _note(notes, _bomb_note(label, None, limits))
        return None, False
    except _DECODE_ERRORS:
        log.debug("texture %s could not be opened", label, exc_info=True)
        _note(notes, f"The texture {label} could not be read, so it was left out.")
        return None, False
    width, height = image.size
    pixels = width * height
    limit = limits.max_texture_pixels
    if pixels > limit * TEXTURE_BOMB_FACTOR:
        _note(notes, _bomb_note(label, image.size, limits))
        return None, False
    if pixels <= limit:
        return image, False
    scale = math.sqrt(limit / pixels)
    size = (max(1, math.floor(width * scale)), max(1, math.floor(height * scale)))
    try:
        image.draft(image.mode if image.mode in ("RGB", "L") else "RGB", size)  # JPEG only
        # In place, through cheap integer reductions first (reducing_gap).
        image.thumbnail(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    except _DECODE_ERRORS:
        log.debug("texture %s could not be decoded", label, exc_info=True)
        _note(notes, f"The texture {label} could not be read, so it was left out.")
        return None, False
    _note(
        notes,
        f"The texture {label} is {width:,} × {height:,} pixels, more than the "
        f"{_megapixels(limit)}-megapixel limit, so it was scaled down to "
        f"{image.size[0]:,} × {image.size[1]:,}. You can raise the limit in Settings.",
    )
    return image, True


def _bomb_note(label: str, size: tuple[int, int] | None, limits: Limits) -> str:
    claimed = (
        f" claims {size[0]:,} × {size[1]:,} pixels ({_megapixels(size[0] * size[1])} megapixels)"
        if size is not None
        else " claims far more pixels"
    )
    return (
        f"The texture {label}{claimed}, far beyond the "
        f"{_megapixels(limits.max_texture_pixels)}-megapixel limit, so it was left out."
    )


def _pixels(image: Image.Image) -> UInt8Array:
    """RGB or RGBA uint8, top row first."""
    if image.mode.startswith("I") or image.mode == "F":
        # 16-bit and float greys: Pillow's convert("RGB") would clip them at 255.
        grey = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or grey.max(initial=0) > 255 else 255.0
        grey8 = np.clip(np.nan_to_num(grey) * (255.0 / top), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey8[..., None], 3, axis=2))
    has_alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info
    wanted = "RGBA" if has_alpha else "RGB"
    # No convert() copy when the mode is already right: at 64 MP each copy is 200 MB.
    converted = image if image.mode == wanted else image.convert(wanted)
    return np.ascontiguousarray(np.asarray(converted, dtype=np.uint8))


def read_texture(data: bytes, label: str, limits: Limits, notes: list[str]) -> Texture | None:
    """Decode image bytes into a texture, within the pixel limit.

    Parameters
    ----------
    data
        The image file's bytes (PNG, JPEG, WebP, ... whatever Pillow reads).
    label
        How notes name the image: “wood.png”.
    limits
        ``max_texture_pixels`` is the size kept.
    notes
        Where a scaled-down, left-out or unreadable texture is noted.

    Returns
    -------
    Texture or None
        ``None`` when the texture is left out (the note says why).
    """
    image, _scaled = _open(data, label, limits, notes)
    if image is None:
        return None
    try:
        pixels = _pixels(image)
    except _DECODE_ERRORS:
        log.debug("texture %s could not be decoded", label, exc_info=True)
        _note(notes, f"The texture {label} could not be read, so it was left out.")
        return None
    return Texture(pixels, name=label.strip("“”"))


def fit_image_bytes(data: bytes, label: str, limits: Limits, notes: list[str]) -> bytes | None:
    """Image bytes for a parser that decodes them itself (trimesh's OBJ reader).

    Returns the bytes unchanged when the image is within the limit, a scaled-down PNG
    when it is over, or ``None`` when it is left out; the notes say which.
    """
    image, scaled = _open(data, label, limits, notes)
    if image is None:
        return None
    if not scaled:
        return data
    try:
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", compress_level=1)
    except _DECODE_ERRORS:
        log.debug("texture %s could not be decoded", label, exc_info=True)
        _note(notes, f"The texture {label} could not be read, so it was left out.")
        return None
    return buffer.getvalue()


def is_image(data: bytes) -> bool:
    """True when ``data`` starts like an image file Pillow opens."""
    heads = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"BM", b"II*\x00", b"MM\x00*")
    return data.startswith(heads) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
