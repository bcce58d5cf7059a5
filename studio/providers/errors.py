"""What can go wrong talking to a generation provider, each with a plain message.

The UI shows ``str(error)`` as it is; no key, token or raw response body is ever part of
a message.
"""

from __future__ import annotations

from studio.errors import KilnError


class ProviderError(KilnError):
    """Base of every provider failure. ``retryable`` says whether trying later may help."""

    retryable = False

    def __init__(self, message: str, *, provider: str = "") -> None:
        super().__init__(message)
        self.provider = provider


class AuthError(ProviderError):
    """The API key is missing, wrong or revoked."""


class NoCreditsError(ProviderError):
    """The provider account has too few credits for this generation."""


class RateLimitedError(ProviderError):
    """Too many requests or too many running tasks; ``retry_after`` seconds if given."""

    retryable = True

    def __init__(
        self, message: str, *, provider: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(message, provider=provider)
        self.retry_after = retry_after


class ContentRefusedError(ProviderError):
    """The provider's content policy refused the prompt or image."""


class BadInputError(ProviderError):
    """The request itself is wrong: prompt too long, wrong image type, missing front view."""


class NotFoundError(ProviderError):
    """The task (or file) is unknown to the provider, or belongs to another key."""


class ServerError(ProviderError):
    """The provider failed on its side (5xx)."""

    retryable = True


class NetworkError(ProviderError):
    """No answer: offline, DNS, timeout, dropped connection."""

    retryable = True


class AmbiguousSubmissionError(ProviderError):
    """A create call got no answer: the provider may or may not have accepted the task.

    Never resubmitted blindly, because a replay bills twice.
    """


class GenerationFailedError(ProviderError):
    """The provider ran the task and it failed; ``str`` carries the provider's reason."""


class LinkExpiredError(ProviderError):
    """A result link no longer works (they are signed and short-lived): poll the task
    again for fresh links and download at once."""

    retryable = True
