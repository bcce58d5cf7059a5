"""Two identical requests close together are usually a double click, not a wish to pay twice.

:meth:`studio.jobs.Jobs.recent_twin` finds the earlier one, so the panel can ask first.
Requests are the same when provider, kind, quality, description (ignoring case and
spacing) and pictures (by content, slot by slot) are.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from studio.library import GenerationRecord
from studio.providers.base import VIEW_NAMES, GenerationKind, GenerationRequest

#: A second identical request within this many seconds asks before it is sent.
TWIN_WINDOW = 60.0

Fingerprint = tuple[str, str, str, str, tuple[str, ...]]


def _same_text(prompt: str) -> str:
    return " ".join(prompt.split()).casefold()


def _digest(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""  # gone: the request's own check says so when it is sent


def fingerprint(request: GenerationRequest, provider: str) -> Fingerprint:
    """What makes two requests "the same": provider, kind, quality, words, pictures."""
    pictures = tuple(
        _digest(path) for path in request.images if request.kind is not GenerationKind.TEXT
    )
    if request.kind is GenerationKind.IMAGE:
        pictures = tuple(p for p in pictures if p)
    return (
        provider,
        request.kind.value,
        request.quality.value,
        _same_text(request.prompt),
        pictures,
    )


def stored_fingerprint(gen: GenerationRecord) -> Fingerprint:
    """:func:`fingerprint` of a stored generation (its pictures by their sha256)."""
    by_slot = {i.slot: i.sha256 for i in gen.images}
    if gen.kind == GenerationKind.MULTIVIEW.value:
        pictures = tuple(by_slot.get(slot, "") for slot in VIEW_NAMES)
    elif gen.kind == GenerationKind.IMAGE.value:
        pictures = tuple(sha for sha in (by_slot.get("image", ""),) if sha)
    else:
        pictures = ()
    return (gen.provider, gen.kind, gen.quality, _same_text(gen.prompt), pictures)
