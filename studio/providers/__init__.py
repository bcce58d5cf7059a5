"""Cloud 3D generation providers (Meshy, Tripo) behind one protocol."""

from studio.providers.base import (
    Balance,
    GenerationKind,
    GenerationRequest,
    Provider,
    ProviderTask,
    Quality,
    TaskOutput,
    TaskStatus,
)
from studio.providers.errors import (
    AmbiguousSubmissionError,
    AuthError,
    BadInputError,
    ContentRefusedError,
    GenerationFailedError,
    LinkExpiredError,
    NetworkError,
    NoCreditsError,
    NotFoundError,
    ProviderError,
    RateLimitedError,
    ServerError,
)

__all__ = [
    "AmbiguousSubmissionError",
    "AuthError",
    "BadInputError",
    "Balance",
    "ContentRefusedError",
    "GenerationFailedError",
    "GenerationKind",
    "GenerationRequest",
    "LinkExpiredError",
    "NetworkError",
    "NoCreditsError",
    "NotFoundError",
    "Provider",
    "ProviderError",
    "ProviderTask",
    "Quality",
    "RateLimitedError",
    "ServerError",
    "TaskOutput",
    "TaskStatus",
]
