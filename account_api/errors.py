"""The service's expected failures: each carries an HTTP status and a plain sentence."""

from __future__ import annotations

from typing import Any


class AccountError(Exception):
    """Base of the service's own errors."""


class ConfigError(AccountError):
    """The environment is missing or contradicts a setting (shown to the operator)."""


class ApiError(AccountError):
    """An expected failure answered as ``{"detail": detail}`` with ``status``.

    Parameters
    ----------
    status
        The HTTP status code.
    detail
        A plain sentence, or (for the few structured cases in ``studio.account.schema``)
        a dict that includes a ``message`` sentence.
    headers
        Extra response headers (``Retry-After``, ``WWW-Authenticate``).
    """

    def __init__(
        self, status: int, detail: str | dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail if isinstance(detail, str) else detail.get("message", ""))
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def not_found(what: str) -> ApiError:
    """The same 404 for "unknown" and "someone else's": ids never leak across accounts."""
    return ApiError(404, f"There is no {what} with this id.")
