"""The library's expected failures."""

from __future__ import annotations

from studio.errors import KilnError


class LibraryError(KilnError):
    """Something the designer can act on went wrong in the library (unknown model, full disk...)."""
