"""Tripo (tripo3d.ai) API V3 on httpx: text, image and multi-view to model.

Wire contract (``https://openapi.tripo3d.ai/v3``, as the official ``tripo3d`` 1.0 SDK uses it):
``POST /generation/text-to-model`` ``{"prompt", "model", …}``,
``POST /generation/image-to-model`` ``{"input": file_token, …}``,
``POST /generation/multiview-to-model`` ``{"inputs": [front, left, back, right]}`` (``None`` for a
missing view), each answering ``{"code": 0, "data": {"task_id"}}``; pictures go first to
``POST /files`` (multipart ``file``) → ``{"file_token": "file_…"}``; ``GET /tasks/{id}``;
``GET /account/balance`` → ``{"balance", "frozen"}``; ``GET /account/usage`` lists recent tasks.
Errors: HTTP status plus ``{"code": N, "message", "suggestion", "request_id"}``. V3 has no way
to cancel a task.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from studio.providers.base import (
    VIEW_NAMES,
    Balance,
    GenerationKind,
    GenerationRequest,
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
    NoCreditsError,
    NotFoundError,
    ProviderError,
    RateLimitedError,
    ServerError,
)
from studio.providers.http import (
    Clock,
    Sleep,
    Transport,
    TransportPolicy,
    json_body,
    retry_after,
    seconds_text,
)
from studio.work import NEVER_CANCELLED, CancelToken, Progress, no_progress

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://openapi.tripo3d.ai/v3"
NAME = "tripo"
LABEL = "Tripo"

ROUTES = {
    GenerationKind.TEXT: "/generation/text-to-model",
    GenerationKind.IMAGE: "/generation/image-to-model",
    GenerationKind.MULTIVIEW: "/generation/multiview-to-model",
}
TASK_TYPES = {
    GenerationKind.TEXT: "text_to_model",
    GenerationKind.IMAGE: "image_to_model",
    GenerationKind.MULTIVIEW: "multiview_to_model",
}

#: Model version and options per quality (V3 requires the version).
OPTIONS: dict[Quality, dict[str, Any]] = {
    Quality.STANDARD: {"model": "v2.5-20250123", "texture": True, "pbr": True},
    Quality.ULTRA: {
        "model": "v3.0-20250812",
        "texture": True,
        "pbr": True,
        "texture_quality": "detailed",
        "geometry_quality": "detailed",
    },
}
#: What a request costs on Tripo (textured; +10 for detailed texture), for messages.
COSTS = {
    (GenerationKind.TEXT, Quality.STANDARD): 20,
    (GenerationKind.TEXT, Quality.ULTRA): 30,
    (GenerationKind.IMAGE, Quality.STANDARD): 30,
    (GenerationKind.IMAGE, Quality.ULTRA): 40,
    (GenerationKind.MULTIVIEW, Quality.STANDARD): 30,
    (GenerationKind.MULTIVIEW, Quality.ULTRA): 40,
}

STATUSES = {
    "queued": TaskStatus.QUEUED,
    "running": TaskStatus.RUNNING,
    "success": TaskStatus.SUCCEEDED,
    "failed": TaskStatus.FAILED,
    "cancelled": TaskStatus.CANCELLED,
    "canceled": TaskStatus.CANCELLED,
    "banned": TaskStatus.FAILED,
    "expired": TaskStatus.EXPIRED,
    "unknown": TaskStatus.FAILED,
}
#: Task ``error_code`` values with their own meaning in V3.
CONTENT_REFUSED = 2008
TASK_EXPIRED = 2018
NO_CREDITS = 2010
TOO_MANY_TASKS = 2000

_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp"}
#: ``POST /files`` takes up to this; bigger files need a presigned upload pictures never need.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
_TASK_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_MODEL_KEYS = ("model_url", "pbr_model_url", "pbr_model", "model", "base_model_url", "base_model")
_PREVIEW_KEYS = ("rendered_image_url", "rendered_image")
_USAGE_LIMIT = 50


class TripoClient:
    """The :class:`~studio.providers.base.Provider` for Tripo (API V3).

    Parameters
    ----------
    api_key
        The designer's key (``tsk_…``); sent only to ``base_url``, never to file hosts.
    client
        Shared httpx client (its default headers never carry the key).
    base_url
        API root including ``/v3``, overridable for the emulator or a proxy.
    sleep, now
        Injected clock for retries.
    policy
        Timeouts and retry limits.
    """

    name = NAME
    label = LABEL
    max_prompt = 1024

    def __init__(
        self,
        api_key: str,
        *,
        client: httpx.Client,
        base_url: str = DEFAULT_BASE_URL,
        sleep: Sleep = time.sleep,
        now: Clock = time.time,
        policy: TransportPolicy | None = None,
    ) -> None:
        self._key = api_key.strip()
        self.base_url = base_url.rstrip("/")
        self._http = Transport(
            LABEL, client, headers=self._auth_headers, policy=policy, sleep=sleep, now=now
        )
        self._progress: dict[str, int] = {}
        #: Ids this client made or found, so ``find_submitted`` never hands out one twice.
        self._known: set[str] = set()

    def __repr__(self) -> str:
        return f"TripoClient(base_url={self.base_url!r})"

    # -- Provider ------------------------------------------------------------------------

    def submit(self, request: GenerationRequest) -> ProviderTask:
        """Upload the pictures (if any), then create the task.

        Raises
        ------
        AmbiguousSubmissionError
            The create got no answer; never resubmit blindly (a replay bills twice).
        NetworkError
            An upload was cut off (nothing that bills was made: safe to submit again).
        """
        request.check(max_prompt=self.max_prompt)
        options = dict(OPTIONS[request.quality])
        cost = COSTS[request.kind, request.quality]
        if request.kind is GenerationKind.TEXT:
            body: dict[str, Any] = {"prompt": request.prompt.strip(), **options}
        elif request.kind is GenerationKind.IMAGE:
            path = next(p for p in request.images if p is not None)
            body = {"input": self._upload(path), **options}
        else:
            inputs: list[str | None] = [
                None if p is None else self._upload(p) for p in request.images[: len(VIEW_NAMES)]
            ]
            body = {"inputs": inputs, **options}
        response = self._http.create(f"{self.base_url}{ROUTES[request.kind]}", json=body)
        if response.status_code == 504:
            # The gateway gave up waiting for Tripo, which may still make the task.
            raise _ambiguous()
        if not response.is_success:
            raise self._error(response, cost=cost)
        data = json_body(response)
        if not isinstance(data, dict) or data.get("code", 0) != 0:
            if isinstance(data, dict):
                raise self._error(response, cost=cost)
            raise _ambiguous()
        payload = data.get("data")
        task_id = payload.get("task_id") if isinstance(payload, dict) else None
        if not isinstance(task_id, str) or not _TASK_ID.match(task_id):
            # Accepted (2xx) but no readable id: a task may exist; don't make another.
            raise _ambiguous()
        self._known.add(task_id)
        self._progress[task_id] = 0
        return ProviderTask(
            provider=NAME,
            task_id=task_id,
            status=TaskStatus.QUEUED,
            progress=0,
            raw_status="queued",
        )

    def poll(self, task_id: str) -> ProviderTask:
        """The task as it stands (fresh signed links once it succeeded)."""
        response = self._http.read("GET", f"{self.base_url}/tasks/{_checked_id(task_id)}")
        data = self._data(response)
        if not isinstance(data, dict):
            raise self._unreadable()
        return self._task(data, task_id)

    def advance(self, task: ProviderTask, request: GenerationRequest) -> ProviderTask:
        """Tripo generations are one stage: nothing to chain."""
        return task

    def cancel(self, task_id: str) -> bool:
        """Tripo's API has no way to stop a task (V3 has no cancel route)."""
        return False

    def download(
        self,
        output: TaskOutput,
        dest: Path,
        *,
        progress: Progress = no_progress,
        cancel: CancelToken = NEVER_CANCELLED,
    ) -> Path:
        """Stream ``output`` to ``dest``; no key goes to the file host."""
        return self._http.download_output(output, dest, progress=progress, cancel=cancel)

    def balance(self) -> Balance:
        response = self._http.read("GET", f"{self.base_url}/account/balance")
        data = self._data(response)
        if not isinstance(data, dict):
            raise self._unreadable()
        try:
            credits = float(data["balance"])
            frozen = data.get("frozen")
            reserved = None if frozen is None else float(frozen)
        except (KeyError, TypeError, ValueError):
            raise self._unreadable() from None
        return Balance(credits=credits, reserved=reserved)

    def find_submitted(self, request: GenerationRequest, since: float) -> ProviderTask | None:
        """The newest task of ``request``'s kind (and prompt) made at or after ``since``.

        Uses ``GET /account/usage`` (the only task listing V3 offers); ``None`` when that
        isn't available or nothing matches. Tasks this client already returned are skipped.
        """
        response = self._http.read(
            "GET", f"{self.base_url}/account/usage", params={"limit": _USAGE_LIMIT, "offset": 0}
        )
        if response.status_code in (404, 405, 501):
            return None
        data = self._data(response)
        items = data.get("items") if isinstance(data, dict) else data
        if not isinstance(items, list):
            return None
        wanted = TASK_TYPES[request.kind]
        candidates: list[tuple[float, str]] = []
        for item in items:
            if not isinstance(item, dict):
                continue
            task_id = str(item.get("task_id") or "")
            if not _TASK_ID.match(task_id) or task_id in self._known:
                continue
            kind = str(item.get("type") or "").replace("-", "_")
            if kind and kind != wanted:
                continue
            created = _epoch(item.get("created_at"))
            if created < since:
                continue
            candidates.append((created, task_id))
        for _created, task_id in sorted(candidates, reverse=True):
            found = self._matching(task_id, request)
            if found is not None:
                self._known.add(found.task_id)
                return found
        return None

    # -- internals -----------------------------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        key = self._key
        if not key:
            raise AuthError(
                "No Tripo API key is set. Add it in Settings › Providers.", provider=NAME
            )
        if not (key.isascii() and key.isprintable()) or any(c.isspace() for c in key):
            raise AuthError(
                "The Tripo API key has characters no key contains. "
                "Paste it again in Settings › Providers.",
                provider=NAME,
            )
        return {"Authorization": f"Bearer {key}", "Accept": "application/json"}

    def _upload(self, path: Path) -> str:
        """Send one picture to ``/files``; its ``file_token``."""
        mime = _MIME.get(path.suffix.lower())
        if mime is None:
            raise BadInputError(
                f"“{path.name}” is not a PNG, JPEG or WebP picture. Use one of those.",
                provider=NAME,
            )
        try:
            size = path.stat().st_size
            if size > MAX_UPLOAD_BYTES:
                raise BadInputError(
                    f"“{path.name}” is over 50 MB; use a smaller picture.", provider=NAME
                )
            content = path.read_bytes()
        except OSError:
            raise BadInputError(f"“{path.name}” can't be read.", provider=NAME) from None
        response = self._http.create(
            f"{self.base_url}/files", files={"file": (path.name, content, mime)}, what="upload"
        )
        data = self._data(response)
        token = data.get("file_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise self._unreadable()
        return token

    def _matching(self, task_id: str, request: GenerationRequest) -> ProviderTask | None:
        """The task when its echoed input fits ``request`` (prompt for text)."""
        try:
            response = self._http.read("GET", f"{self.base_url}/tasks/{task_id}")
            data = self._data(response)
        except NotFoundError:
            return None
        if not isinstance(data, dict):
            return None
        kind = str(data.get("type") or "").replace("-", "_")
        if kind and kind != TASK_TYPES[request.kind]:
            return None
        if request.kind is GenerationKind.TEXT:
            echoed = data.get("input")
            prompt = echoed.get("prompt") if isinstance(echoed, dict) else None
            if isinstance(prompt, str) and prompt.strip() != request.prompt.strip():
                return None
        return self._task(data, task_id)

    def _task(self, data: dict[str, Any], asked_id: str) -> ProviderTask:
        task_id = str(data.get("task_id") or asked_id)
        raw = str(data.get("status") or "")
        status = STATUSES.get(raw.lower(), TaskStatus.RUNNING)  # an unheard-of status: wait
        found = data.get("error_code")
        code = found if isinstance(found, int) else None
        error: str | None = None
        if raw.lower() == "banned" or code == CONTENT_REFUSED:
            status = TaskStatus.FAILED
            error = (
                "Tripo refused this prompt or picture under its content rules. "
                "Change it and try again."
            )
        elif raw.lower() == "expired" or (status is TaskStatus.FAILED and code == TASK_EXPIRED):
            status = TaskStatus.EXPIRED
            error = "Tripo let the task expire before it finished."
        elif status is TaskStatus.FAILED:
            message = data.get("error_msg") or data.get("error_message")
            if isinstance(message, str) and message.strip():
                error = message.strip()[:300]
            elif raw.lower() == "unknown":
                error = "Tripo lost track of the task."
            elif code is not None:
                error = f"Tripo reported error {code}."
            else:
                error = "Tripo gave no reason."
        elif status is TaskStatus.CANCELLED:
            error = "The task was cancelled on Tripo."
        progress = _int(data.get("progress"))
        if status is TaskStatus.QUEUED:
            progress = 0
        elif status is TaskStatus.SUCCEEDED:
            progress = 100
        elif status is not TaskStatus.RUNNING:
            progress = 0  # meaningless for the other statuses: keep what was seen
        progress = max(self._progress.get(task_id, 0), min(max(progress, 0), 100))
        self._progress[task_id] = progress
        credits = data.get("credits_consumed", data.get("consumed_credit"))
        output = data.get("output")
        return ProviderTask(
            provider=NAME,
            task_id=task_id,
            status=status,
            progress=progress,
            raw_status=raw,
            outputs=_outputs(output) if status is TaskStatus.SUCCEEDED else (),
            error=error,
            credits_used=_int(credits) if isinstance(credits, int | float | str) else None,
        )

    def _data(self, response: httpx.Response) -> Any:
        """The envelope's ``data``; a typed error for an HTTP or business failure."""
        if not response.is_success:
            raise self._error(response)
        body = json_body(response)
        if not isinstance(body, dict):
            raise self._unreadable()
        if body.get("code", 0) != 0 or body.get("status") == "error":
            raise self._error(response)
        return body.get("data", body)

    def _error(self, response: httpx.Response, *, cost: int | None = None) -> ProviderError:
        body = json_body(response)
        code: int | None = None
        if isinstance(body, dict) and isinstance(body.get("code"), int):
            code = body["code"]
        trace = response.headers.get("x-tripo-trace-id", "")
        log.debug("Tripo answered HTTP %d, code %s, trace %s", response.status_code, code, trace)
        wait = retry_after(response, now=self._http.now, cap=self._http.policy.retry_after_cap)
        return _error_for(response.status_code, code, wait, cost=cost)

    def _unreadable(self) -> ServerError:
        return ServerError(
            "Tripo answered with something Kiln Studio can't read. Try again in a few minutes.",
            provider=NAME,
        )


def _error_for(
    status: int, code: int | None, wait: float | None, *, cost: int | None
) -> ProviderError:
    """One plain sentence per failure, from the HTTP status and Tripo's code."""
    if status == 401 or code in (2, 1002):
        return AuthError(
            "Tripo refused the API key. Check it in Settings › Providers.", provider=NAME
        )
    if code == NO_CREDITS or status == 402:
        needs = f" (needs about {cost})" if cost else ""
        return NoCreditsError(
            f"Your Tripo account has too few credits for this{needs}. "
            "Top it up on tripo3d.ai and try again.",
            provider=NAME,
        )
    if code == CONTENT_REFUSED:
        return ContentRefusedError(
            "Tripo refused this prompt or picture under its content rules. "
            "Change it and try again.",
            provider=NAME,
        )
    if status == 429 or code in (TOO_MANY_TASKS, 1007):
        if code == TOO_MANY_TASKS:
            text = "Tripo is already running as many tasks as your account allows"
        else:
            text = "Tripo is busy (too many requests)"
        when = f"trying again in {seconds_text(wait)}" if wait is not None else "trying again soon"
        return RateLimitedError(f"{text}; {when}.", provider=NAME, retry_after=wait)
    if status == 403:
        return AuthError(
            "Tripo doesn't let this API key do that. Check your Tripo plan and the key in "
            "Settings › Providers.",
            provider=NAME,
        )
    if status == 404 or code in (2001, 2019):
        if code == 2019:
            return NotFoundError(
                "Tripo lost an uploaded picture before using it. Try again.", provider=NAME
            )
        return NotFoundError("Tripo has no such task for this key.", provider=NAME)
    if status >= 500 or code in (1000, 1001, 2014):
        shown = f"HTTP {status}" if status >= 500 else f"error {code}"
        return ServerError(
            f"Tripo had a problem on its side ({shown}). Try again in a few minutes.",
            provider=NAME,
        )
    if code in (2003, 2004):
        return BadInputError(
            "Tripo can't use one of the pictures (empty or an unsupported type). "
            "Use a PNG, JPEG or WebP picture.",
            provider=NAME,
        )
    shown = f" (error {code})" if code is not None else ""
    return BadInputError(
        f"Tripo rejected the request as invalid{shown}. Change the prompt or pictures and "
        "try again.",
        provider=NAME,
    )


def _ambiguous() -> AmbiguousSubmissionError:
    return AmbiguousSubmissionError(
        "Tripo stopped answering while the task was being created, so it may or may not "
        "have started. Kiln Studio checks before sending it again.",
        provider=NAME,
    )


def _checked_id(task_id: str) -> str:
    """Task ids go into URL paths: refuse anything that isn't one."""
    if not _TASK_ID.match(task_id):
        raise NotFoundError("That is not a Tripo task id.", provider=NAME)
    return task_id


def _int(value: Any) -> int:
    try:
        return round(float(value))
    except (TypeError, ValueError, OverflowError):
        return 0


def _epoch(value: Any) -> float:
    """ISO-8601 (V3) or Unix seconds (V2) as Unix seconds; 0 when unreadable."""
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return 0.0
        if parsed.tzinfo is None:
            return 0.0
        return parsed.timestamp()
    return 0.0


def _format(url: str, default: str) -> str:
    suffix = Path(httpx.URL(url).path).suffix.lower().lstrip(".")
    return suffix or default


def _outputs(output: Any) -> tuple[TaskOutput, ...]:
    if not isinstance(output, dict):
        return ()
    outputs: list[TaskOutput] = []
    seen: set[str] = set()
    for key in _MODEL_KEYS:
        url = output.get(key)
        if isinstance(url, str) and url and url not in seen:
            seen.add(url)
            fmt = _format(url, "glb")
            outputs.append(TaskOutput(kind="model", format=fmt, url=url, name=f"{key}.{fmt}"))
    for key in _PREVIEW_KEYS:
        url = output.get(key)
        if isinstance(url, str) and url and url not in seen:
            seen.add(url)
            outputs.append(TaskOutput(kind="preview", format=_format(url, "png"), url=url))
            break
    return tuple(outputs)
