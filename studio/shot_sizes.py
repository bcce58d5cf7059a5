"""Picture sizes for product shots, as the command line and the export dialog name them."""

from __future__ import annotations

import re

#: Named sizes (width, height) in pixels.
SIZE_PRESETS: dict[str, tuple[int, int]] = {
    "720p": (1280, 720),
    "1080p": (1920, 1080),
    "1440p": (2560, 1440),
    "4k": (3840, 2160),
}
#: The largest side a shot may have (VTK's off-screen buffers and memory set the limit).
MAX_SIDE = 8192


def parse_size(text: str) -> tuple[int, int]:
    """``"1920x1080"``, ``"1080p"`` or ``"4k"`` as ``(width, height)``.

    Raises
    ------
    ValueError
        With a sentence that says what is accepted.
    """
    key = text.strip().lower()
    if key in SIZE_PRESETS:
        return SIZE_PRESETS[key]
    match = re.fullmatch(r"(\d+)\s*[x×]\s*(\d+)", key)
    if match is None:
        presets = ", ".join(SIZE_PRESETS)
        raise ValueError(
            f"“{text}” is not a size: write WIDTHxHEIGHT (like 1920x1080) or one of {presets}"
        )
    width, height = int(match.group(1)), int(match.group(2))
    for value in (width, height):
        if not 1 <= value <= MAX_SIDE:
            raise ValueError(f"{value} pixels is outside 1–{MAX_SIDE}")
    return width, height
