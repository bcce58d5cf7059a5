"""Meshy (meshy.ai) on httpx: text, image and multi-image to 3D, with ultra's refine stage.

Wire contract (``/openapi`` base): ``POST /v2/text-to-3d`` (preview, then refine),
``POST /v1/image-to-3d``, ``POST /v1/multi-image-to-3d`` answer ``{"result": "<id>"}``;
``GET <route>/{id}`` answers the bare task object; ``GET <route>/{id}/stream`` streams it as
server-sent events; ``GET <route>?sort_by=-created_at`` lists tasks newest first (a bare array);
``DELETE <route>/{id}`` removes a task; ``GET /v1/balance`` answers ``{"balance": N}``.
Errors are an HTTP status plus ``{"message": ...}``.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from studio.providers.base import (
    Balance,
    GenerationKind,
    GenerationRequest,
    ProviderTask,
    Quality,
    TaskOutput,
    TaskStatus,
    view_slots,
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
from studio.providers.sse import EventStreamParser
from studio.work import NEVER_CANCELLED, CancelToken, Progress, no_progress

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.meshy.ai/openapi"
NAME = "meshy"
LABEL = "Meshy"

TEXT_ROUTE = "/v2/text-to-3d"
IMAGE_ROUTE = "/v1/image-to-3d"
MULTI_IMAGE_ROUTE = "/v1/multi-image-to-3d"
ROUTES = {
    GenerationKind.TEXT: TEXT_ROUTE,
    GenerationKind.IMAGE: IMAGE_ROUTE,
    GenerationKind.MULTIVIEW: MULTI_IMAGE_ROUTE,
}

STATUSES = {
    "PENDING": TaskStatus.QUEUED,
    "IN_PROGRESS": TaskStatus.RUNNING,
    "SUCCEEDED": TaskStatus.SUCCEEDED,
    "FAILED": TaskStatus.FAILED,
    "CANCELED": TaskStatus.CANCELLED,
    "CANCELLED": TaskStatus.CANCELLED,
    "EXPIRED": TaskStatus.EXPIRED,
}

#: What a request costs on Meshy (meshy-6 prices), for the "too few credits" sentence.
COSTS = {"preview": 20, "refine": 10, "image": 30, "multiview": 30}

#: Shape defaults shared by every create (Meshy 6 via "latest"; remeshed to triangles).
SHAPE = {
    "ai_model": "latest",
    "should_remesh": True,
    "topology": "triangle",
    "target_polycount": 30000,
}

_TASK_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
_MODEL_FORMATS = ("glb", "fbx", "obj", "usdz", "stl", "blend", "3mf")
_REFUSAL_WORDS = ("moderation", "content policy", "inappropriate", "nsfw", "sensitive")
#: How many list pages (50 tasks each) are searched for a task made earlier.
_LIST_PAGES = 3
_PAGE_SIZE = 50


class MeshyClient:
    """The :class:`~studio.providers.base.Provider` for Meshy.

    Parameters
    ----------
    api_key
        The designer's key (``msy_…``); sent only to ``base_url``, never to file hosts.
    client
        Shared httpx client (its default headers never carry the key).
    base_url
        API root, overridable for the emulator or a proxy.
    sleep, now
        Injected clock for retries and stream fallback polling.
    policy
        Timeouts and retry limits.
    stream
        ``poll`` reads the task's event stream instead of plain GETs (falls back to GETs
        when the stream drops).
    """

    name = NAME
    label = LABEL
    max_prompt = 600

    def __init__(
        self,
        api_key: str,
        *,
        client: httpx.Client,
        base_url: str = DEFAULT_BASE_URL,
        sleep: Sleep = time.sleep,
        now: Clock = time.time,
        policy: TransportPolicy | None = None,
        stream: bool = False,
    ) -> None:
        self._key = api_key.strip()
        self.base_url = base_url.rstrip("/")
        self.stream = stream
        self._http = Transport(
            LABEL, client, headers=self._auth_headers, policy=policy, sleep=sleep, now=now
        )
        self._routes: dict[str, str] = {}
        self._progress: dict[str, int] = {}
        self._created: dict[str, float] = {}
        #: Ids this client made or found, so ``find_submitted`` never hands out one twice.
        self._known: set[str] = set()
        self._streams: dict[str, Iterator[ProviderTask]] = {}
        self._stream_broken: set[str] = set()

    def __repr__(self) -> str:
        return f"MeshyClient(base_url={self.base_url!r})"

    # -- Provider ------------------------------------------------------------------------

    def submit(self, request: GenerationRequest) -> ProviderTask:
        """Create the task (text: the preview stage).

        Raises
        ------
        AmbiguousSubmissionError
            The create got no answer; use :meth:`find_submitted`, never resubmit blindly.
        """
        request.check(max_prompt=self.max_prompt)
        route = ROUTES[request.kind]
        if request.kind is GenerationKind.TEXT:
            body: dict[str, Any] = {"mode": "preview", "prompt": request.prompt.strip(), **SHAPE}
            cost = COSTS["preview"]
            stage = "preview"
        elif request.kind is GenerationKind.IMAGE:
            path = next(p for p in request.images if p is not None)
            body = {"image_url": _data_uri(path), **self._texture_options(request)}
            cost = COSTS["image"]
            stage = ""
        else:
            views = view_slots(request.images)
            body = {
                "image_urls": [_data_uri(p) for p in views.values()],
                **self._texture_options(request),
            }
            cost = COSTS["multiview"]
            stage = ""
        task_id = self._create(route, body, cost=cost)
        return self._fresh_task(task_id, route, stage)

    def poll(self, task_id: str) -> ProviderTask:
        """The task as it stands (through its event stream when ``stream`` is on)."""
        if self.stream and task_id not in self._stream_broken:
            return self._poll_stream(task_id)
        return self._fetch(task_id)

    def advance(self, task: ProviderTask, request: GenerationRequest) -> ProviderTask:
        """After an ultra text preview succeeded, start (or find) its refine stage.

        Idempotent: a refine already made for this preview — by an earlier call whose
        answer was lost, say — is found in the task list and returned, not made again.
        """
        if (
            task.provider != NAME
            or request.kind is not GenerationKind.TEXT
            or request.quality is not Quality.ULTRA
            or task.status is not TaskStatus.SUCCEEDED
            or task.stage != "preview"
        ):
            return task
        existing = self._find_refine(task.task_id)
        if existing is not None:
            return existing
        body = {
            "mode": "refine",
            "preview_task_id": task.task_id,
            "enable_pbr": True,
            "ai_model": "latest",
        }
        refine_id = self._create(TEXT_ROUTE, body, cost=COSTS["refine"])
        return self._fresh_task(refine_id, TEXT_ROUTE, "refine")

    def cancel(self, task_id: str) -> bool:
        """Delete the task on Meshy (which stops it); ``True`` once it is gone."""
        route = self._route_of(task_id)
        self._close_stream(task_id)
        response = self._http.read("DELETE", f"{self.base_url}{route}/{_checked_id(task_id)}")
        if response.status_code == 404 or response.is_success:
            return True
        raise self._error(response)

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
        response = self._http.read("GET", f"{self.base_url}/v1/balance")
        data = self._ok(response)
        try:
            credits = float(data["balance"])
        except (KeyError, TypeError, ValueError):
            raise self._unreadable() from None
        return Balance(credits=credits)

    def find_submitted(self, request: GenerationRequest, since: float) -> ProviderTask | None:
        """The newest task of ``request``'s kind (and prompt) made at or after ``since``.

        Tasks this client already returned are skipped, so two jobs never share one.
        """
        route = ROUTES[request.kind]
        prompt = request.prompt.strip()
        for item in self._list(route, since):
            task_id = str(item.get("id") or "")
            if not task_id or task_id in self._known:
                continue
            kind = str(item.get("type") or "")
            if request.kind is GenerationKind.TEXT:
                if "refine" in kind or item.get("mode") == "refine":
                    continue
                echoed = item.get("prompt")
                if isinstance(echoed, str) and echoed.strip() != prompt:
                    continue
            if _created_at(item) < since:
                continue
            self._known.add(task_id)
            return self._task(item, route)
        return None

    # -- streaming -----------------------------------------------------------------------

    def stream_task(self, task_id: str, *, interval: float = 2.0) -> Iterator[ProviderTask]:
        """Every change of the task until it finishes, from its event stream.

        When the stream drops (or the provider reports a passing problem on it), this
        carries on by polling, waiting ``interval`` seconds (growing ×1.5 to 20 s) between
        GETs, until the task finishes.
        """
        for task in self._stream_events(task_id):
            yield task
            if task.status.finished:
                return
        log.info("Meshy event stream ended early; polling instead")
        while True:
            task = self._fetch(task_id)
            yield task
            if task.status.finished:
                return
            self._http.sleep(interval)
            interval = min(interval * 1.5, 20.0)

    def close(self) -> None:
        """Close any event streams ``poll`` left open."""
        for task_id in list(self._streams):
            self._close_stream(task_id)

    def _stream_events(self, task_id: str) -> Iterator[ProviderTask]:
        """Tasks from the SSE stream; returns (without raising) when the stream drops or
        reports a passing error, raises the typed error for a lasting one (wrong key...)."""
        route = self._route_of(task_id)
        url = f"{self.base_url}{route}/{_checked_id(task_id)}/stream"
        try:
            with self._http.open_stream(url) as response:
                if response.status_code != 200:
                    response.read()
                    error = self._error(response)
                    if error.retryable:
                        return
                    raise error
                parser = EventStreamParser()
                for chunk in response.iter_bytes():
                    for event in parser.feed(chunk):
                        if event.event == "error":
                            error = self._stream_error(event.data)
                            if error.retryable:
                                return
                            raise error
                        if event.event != "message":
                            continue
                        try:
                            data = json.loads(event.data)
                        except ValueError:
                            continue
                        if isinstance(data, dict):
                            yield self._task(data, route)
        except ProviderError as exc:
            if not exc.retryable:
                raise

    def _poll_stream(self, task_id: str) -> ProviderTask:
        events = self._streams.get(task_id)
        if events is None:
            events = self._streams[task_id] = self._stream_events(task_id)
        try:
            task = next(events)
        except StopIteration:
            # The stream dropped: plain GETs from now on for this task.
            self._streams.pop(task_id, None)
            self._stream_broken.add(task_id)
            return self._fetch(task_id)
        except ProviderError:
            self._streams.pop(task_id, None)
            raise
        if task.status.finished:
            self._close_stream(task_id)
        return task

    def _close_stream(self, task_id: str) -> None:
        events = self._streams.pop(task_id, None)
        if events is not None:
            close = getattr(events, "close", None)
            if close is not None:
                close()

    def _stream_error(self, data: str) -> ProviderError:
        """An ``event: error`` (which may come after a 200) as the HTTP error it stands for."""
        try:
            payload = json.loads(data)
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        try:
            status = int(payload.get("status_code") or 500)
        except (TypeError, ValueError):
            status = 500
        message = payload.get("message")
        return _error_for(status, message if isinstance(message, str) else "", None, cost=None)

    # -- internals -----------------------------------------------------------------------

    def _auth_headers(self) -> dict[str, str]:
        key = self._key
        if not key:
            raise AuthError(
                "No Meshy API key is set. Add it in Settings › Providers.", provider=NAME
            )
        if not (key.isascii() and key.isprintable()) or any(c.isspace() for c in key):
            raise AuthError(
                "The Meshy API key has characters no key contains. "
                "Paste it again in Settings › Providers.",
                provider=NAME,
            )
        return {"Authorization": f"Bearer {key}", "Accept": "application/json"}

    def _texture_options(self, request: GenerationRequest) -> dict[str, Any]:
        return {
            **SHAPE,
            "should_texture": True,
            "enable_pbr": request.quality is Quality.ULTRA,
        }

    def _create(self, route: str, body: dict[str, Any], *, cost: int) -> str:
        response = self._http.create(f"{self.base_url}{route}", json=body)
        if response.status_code == 504:
            # The gateway gave up waiting for Meshy, which may still make the task.
            raise _ambiguous()
        if not response.is_success:
            raise self._error(response, cost=cost)
        data = json_body(response)
        task_id = data.get("result") if isinstance(data, dict) else None
        if not isinstance(task_id, str) or not _TASK_ID.match(task_id):
            # Accepted (2xx) but no readable id: a task may exist; don't make another.
            raise _ambiguous()
        return task_id

    def _fresh_task(self, task_id: str, route: str, stage: str) -> ProviderTask:
        self._routes[task_id] = route
        self._known.add(task_id)
        self._progress[task_id] = 0
        return ProviderTask(
            provider=NAME,
            task_id=task_id,
            status=TaskStatus.QUEUED,
            progress=0,
            raw_status="PENDING",
            stage=stage,
        )

    def _fetch(self, task_id: str) -> ProviderTask:
        task_id = _checked_id(task_id)
        known = self._routes.get(task_id)
        routes = [known] if known else [TEXT_ROUTE, IMAGE_ROUTE, MULTI_IMAGE_ROUTE]
        for route in routes:
            response = self._http.read("GET", f"{self.base_url}{route}/{task_id}")
            if response.status_code == 404 and route != routes[-1]:
                continue  # after a restart the kind is unknown: try the next route
            data = self._ok(response)
            if not isinstance(data, dict):
                raise self._unreadable()
            self._routes[task_id] = route
            return self._task(data, route)
        raise AssertionError("unreachable")  # pragma: no cover

    def _route_of(self, task_id: str) -> str:
        route = self._routes.get(task_id)
        if route is None:
            self._fetch(task_id)
            route = self._routes[task_id]
        return route

    def _list(self, route: str, since: float) -> Iterator[dict[str, Any]]:
        """Tasks on ``route``, newest first, down to the first made before ``since``."""
        for page in range(1, _LIST_PAGES + 1):
            response = self._http.read(
                "GET",
                f"{self.base_url}{route}",
                params={"page_num": page, "page_size": _PAGE_SIZE, "sort_by": "-created_at"},
            )
            data = self._ok(response)
            if isinstance(data, dict):  # tolerate a wrapped list
                data = data.get("result") or data.get("data") or []
            if not isinstance(data, list):
                raise self._unreadable()
            items = [item for item in data if isinstance(item, dict)]
            for item in items:
                if _created_at(item) < since:
                    return
                yield item
            if len(items) < _PAGE_SIZE:
                return

    def _find_refine(self, preview_id: str) -> ProviderTask | None:
        since = self._created.get(preview_id, 0.0)
        for item in self._list(TEXT_ROUTE, since):
            if str(item.get("preview_task_id") or "") != preview_id:
                continue
            if "refine" not in str(item.get("type") or "refine"):
                continue
            task = self._task(item, TEXT_ROUTE)
            self._known.add(task.task_id)
            return task
        return None

    def _task(self, data: dict[str, Any], route: str) -> ProviderTask:
        task_id = str(data.get("id") or "")
        raw = str(data.get("status") or "")
        status = STATUSES.get(raw.upper(), TaskStatus.RUNNING)  # unknown: not finished
        self._routes[task_id] = route
        created = _created_at(data)
        if created:
            self._created[task_id] = created
        progress = _int(data.get("progress"))
        if status is TaskStatus.SUCCEEDED:
            progress = 100
        progress = max(self._progress.get(task_id, 0), min(max(progress, 0), 100))
        self._progress[task_id] = progress
        kind = str(data.get("type") or "")
        stage = ""
        if route == TEXT_ROUTE:
            refine = "refine" in kind or data.get("mode") == "refine"
            stage = "refine" if refine else "preview"
        error: str | None = None
        if status is TaskStatus.FAILED:
            error = _task_error(data) or "Meshy gave no reason."
        elif status is TaskStatus.EXPIRED:
            error = "Meshy let the task expire before it finished."
        elif status is TaskStatus.CANCELLED:
            error = "The task was cancelled on Meshy."
        credits = data.get("consumed_credits")
        return ProviderTask(
            provider=NAME,
            task_id=task_id,
            status=status,
            progress=progress,
            raw_status=raw,
            outputs=_outputs(data) if status is TaskStatus.SUCCEEDED else (),
            error=error,
            credits_used=_int(credits) if isinstance(credits, int | float) else None,
            stage=stage,
        )

    def _ok(self, response: httpx.Response) -> Any:
        if not response.is_success:
            raise self._error(response)
        data = json_body(response)
        if data is None:
            raise self._unreadable()
        return data

    def _error(self, response: httpx.Response, *, cost: int | None = None) -> ProviderError:
        body = json_body(response)
        message = ""
        if isinstance(body, dict):
            found = body.get("message") or body.get("error") or ""
            message = found if isinstance(found, str) else ""
        wait = retry_after(response, now=self._http.now, cap=self._http.policy.retry_after_cap)
        return _error_for(response.status_code, message, wait, cost=cost)

    def _unreadable(self) -> ServerError:
        return ServerError(
            "Meshy answered with something Kiln Studio can't read. Try again in a few minutes.",
            provider=NAME,
        )


def _error_for(status: int, message: str, wait: float | None, *, cost: int | None) -> ProviderError:
    """One plain sentence per failure; Meshy's own message only steers the choice."""
    # Meshy's message only steers the choice: it is never shown or logged (it may echo input).
    log.debug("Meshy answered HTTP %d", status)
    lowered = message.lower()
    if status == 401:
        return AuthError(
            "Meshy refused the API key. Check it in Settings › Providers.", provider=NAME
        )
    if status == 402:
        needs = f" (needs about {cost})" if cost else ""
        return NoCreditsError(
            f"Your Meshy account has too few credits for this{needs}. "
            "Top it up on meshy.ai and try again.",
            provider=NAME,
        )
    if status == 403:
        return AuthError(
            "Meshy doesn't let this API key do that. Check your Meshy plan and the key in "
            "Settings › Providers.",
            provider=NAME,
        )
    if status == 404:
        return NotFoundError(
            "Meshy has no such task for this key (it may have been deleted).", provider=NAME
        )
    if status == 429:
        if "concurrent" in lowered:
            text = "Meshy is already running as many tasks as your plan allows"
        else:
            text = "Meshy is busy (too many requests)"
        when = f"trying again in {seconds_text(wait)}" if wait is not None else "trying again soon"
        return RateLimitedError(f"{text}; {when}.", provider=NAME, retry_after=wait)
    if status in (400, 422):
        if any(word in lowered for word in _REFUSAL_WORDS):
            return ContentRefusedError(
                "Meshy refused this prompt or picture under its content rules. "
                "Change it and try again.",
                provider=NAME,
            )
        return BadInputError(
            "Meshy rejected the request as invalid. Change the prompt or pictures and try again.",
            provider=NAME,
        )
    if status >= 500:
        return ServerError(
            f"Meshy had a problem on its side (HTTP {status}). Try again in a few minutes.",
            provider=NAME,
        )
    return ServerError(f"Meshy answered an unexpected HTTP {status}.", provider=NAME)


def _ambiguous() -> AmbiguousSubmissionError:
    return AmbiguousSubmissionError(
        "Meshy stopped answering while the task was being created, so it may or may not "
        "have started. Kiln Studio checks before sending it again.",
        provider=NAME,
    )


def _checked_id(task_id: str) -> str:
    """Task ids go into URL paths: refuse anything that isn't one."""
    if not _TASK_ID.match(task_id):
        raise NotFoundError("That is not a Meshy task id.", provider=NAME)
    return task_id


def _data_uri(path: Path) -> str:
    """The picture as a ``data:`` URI; WebP (which Meshy doesn't take) becomes PNG."""
    try:
        data = path.read_bytes()
    except OSError:
        raise BadInputError(f"“{path.name}” can't be read.", provider=NAME) from None
    mime = _MIME.get(path.suffix.lower())
    if mime is None:
        data = _as_png(data, path)
        mime = "image/png"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _as_png(data: bytes, path: Path) -> bytes:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            out = io.BytesIO()
            image.save(out, format="PNG")
    except (UnidentifiedImageError, OSError, ValueError):
        raise BadInputError(
            f"“{path.name}” is damaged or not a picture Meshy can use.", provider=NAME
        ) from None
    return out.getvalue()


def _int(value: Any) -> int:
    try:
        return round(float(value))
    except (TypeError, ValueError, OverflowError):
        return 0


def _created_at(data: dict[str, Any]) -> float:
    """``created_at`` in Unix seconds (Meshy sends milliseconds)."""
    value = data.get("created_at")
    if not isinstance(value, int | float) or value <= 0:
        return 0.0
    return float(value) / 1000.0 if value > 1e11 else float(value)


def _task_error(data: dict[str, Any]) -> str:
    error = data.get("task_error")
    if isinstance(error, dict):
        message = error.get("message")
        if isinstance(message, str):
            return message.strip()[:300]
    return ""


def _extension(url: str, default: str) -> str:
    suffix = Path(httpx.URL(url).path).suffix.lower().lstrip(".")
    return suffix or default


def _outputs(data: dict[str, Any]) -> tuple[TaskOutput, ...]:
    outputs: list[TaskOutput] = []
    urls = data.get("model_urls")
    if isinstance(urls, dict):
        order = [f for f in _MODEL_FORMATS if f in urls] + [
            f for f in urls if f not in _MODEL_FORMATS
        ]
        for fmt in order:
            url = urls.get(fmt)
            if not isinstance(url, str) or not url:
                continue  # formats not produced are absent or empty
            kind = "texture" if fmt == "mtl" else "model"
            outputs.append(TaskOutput(kind=kind, format=fmt, url=url, name=f"model.{fmt}"))
    thumbnail = data.get("thumbnail_url")
    if isinstance(thumbnail, str) and thumbnail:
        outputs.append(
            TaskOutput(kind="preview", format=_extension(thumbnail, "png"), url=thumbnail)
        )
    textures = data.get("texture_urls")
    if isinstance(textures, dict):
        textures = [textures]
    if isinstance(textures, list):
        for index, entry in enumerate(textures):
            if not isinstance(entry, dict):
                continue
            for slot, url in entry.items():
                if isinstance(url, str) and url:
                    name = slot if index == 0 else f"{slot}_{index}"
                    outputs.append(
                        TaskOutput(
                            kind="texture", format=_extension(url, "png"), url=url, name=name
                        )
                    )
    return tuple(outputs)
