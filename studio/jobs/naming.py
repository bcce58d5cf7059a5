"""What a generated model is called: a few words of its prompt, not the whole prompt.

The prompt panel shows the same name in its name field while the designer types, so the
name in the library is the one they saw (and could change) before anything was paid for.
"""

from __future__ import annotations

from pathlib import PurePath

#: A name longer than this is cut at the last whole word that fits.
NAME_LIMIT = 40
FALLBACK = "Generated model"
_TRIM = " \t\n,.;:!?-–—\"'“”‘’()[]"
_SENTENCE_END = (".", "!", "?", ";")
#: Little words a cut name should not end on ("a teapot shaped like a").
_DANGLING = frozenset(
    {"a", "an", "the", "of", "with", "and", "or", "in", "on", "at", "for", "to", "from"}
    | {"by", "like", "into", "as", "its", "their"}
)


def short_name(prompt: str, limit: int = NAME_LIMIT) -> str:
    """The first words of ``prompt``, at most ``limit`` characters, cut at a word boundary.

    Stops at the end of the first sentence and never ends on a little word ("a", "of");
    a single word longer than ``limit`` is cut to ``limit``. Returns ``""`` for a prompt
    with no words.

    >>> short_name("a ceramic teapot shaped like a snail, glazed in deep blue")
    'a ceramic teapot shaped like a snail'
    """
    words: list[str] = []
    length = 0
    cut = False
    for raw in prompt.split():
        word = raw.strip(_TRIM) if not words else raw.rstrip(_TRIM)
        if not word:
            continue
        added = len(word) + (1 if words else 0)
        if words and length + added > limit:
            cut = True
            break
        words.append(word[:limit])
        length += added
        if raw.rstrip("\"'”’)").endswith(_SENTENCE_END):
            break
    while cut and len(words) > 1 and words[-1].lower() in _DANGLING:
        words.pop()
    return " ".join(words).strip(_TRIM)


def picture_name(path: str) -> str:
    """A name from a picture's file name: ``IMG_2034-front.png`` → ``IMG 2034 front``."""
    stem = PurePath(path).stem.replace("_", " ").replace("-", " ")
    return short_name(stem)


def generation_name(prompt: str, filenames: list[str], chosen: str = "") -> str:
    """The model's name: the designer's choice, else from the prompt, else the picture."""
    if chosen.strip():
        return chosen.strip()
    if prompt.strip():
        return short_name(prompt) or FALLBACK
    if filenames:
        return picture_name(filenames[0]) or FALLBACK
    return FALLBACK
