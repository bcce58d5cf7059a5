"""The machinery both emulators share.

* :class:`ServerThread` runs an ASGI app with uvicorn on ``127.0.0.1:<ephemeral port>`` in a
  background thread: ``start()`` returns once the socket accepts connections, ``stop()``
  closes it and joins the thread.
* :class:`BaseEmulator` holds what Meshy and Tripo have in common: API keys and balances,
  tasks whose status is a pure function of the fake clock, fault injection (5xx on reads,
  429, dropped connections, stalled creates), signed expiring asset links served from the
  emulator's own origin, and the credential-leak trap on those links.

Provider specifics (routes, bodies, error shapes) live in :mod:`tests.emulators.meshy` and
:mod:`tests.emulators.tripo`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
import socket
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from tests.emulators.assets import CONTENT_TYPES, asset_bytes, for_task
from tests.emulators.clock import Clock

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: How often (real seconds) SSE streams and stalled creates look at the fake clock.
POLL_INTERVAL = 0.01


class _QuietDrops(logging.Filter):
    """uvicorn logs an error when a response is cut short; that is what drop_next wants."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing response" not in record.getMessage()


_uvicorn_log = logging.getLogger("uvicorn.error")
if not any(isinstance(f, _QuietDrops) for f in _uvicorn_log.filters):
    _uvicorn_log.addFilter(_QuietDrops())


class ServerThread:
    """uvicorn serving ``app`` on 127.0.0.1 in a daemon thread."""

    def __init__(self, app: Callable[..., Any], host: str = "127.0.0.1") -> None:
        self._app = app
        self._host = host
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self.port = 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 5.0) -> None:
        if self.running:
            return
        # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose
        # proto says TCP, and without it keep-alive requests stall ~40 ms (Nagle).
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind((self._host, 0))
        self._sock = sock
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            host=self._host,
            port=self.port,
            http="h11",
            ws="none",
            interface="asgi3",
            lifespan="off",
            proxy_headers=False,
            server_header=False,
            log_config=None,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        self._server = server
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"kiln-emulator-{self.port}",
            daemon=True,
        )
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the emulator server did not start")
            time.sleep(0.002)

    def stop(self, timeout: float = 5.0) -> None:
        server, thread = self._server, self._thread
        if server is not None:
            server.should_exit = True
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive() and server is not None:
                server.force_exit = True
                thread.join(timeout)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = self._sock = None


@dataclass
class RequestRecord:
    """One request the emulator saw (assets included), for assertions."""

    method: str
    path: str
    query: str
    authorization: bool
    status: int | None = None


@dataclass
class LeakedAuth:
    """An asset request that carried an ``Authorization`` header (and was refused)."""

    path: str
    authorization: str


@dataclass
class EmulatedTask:
    """A task as the emulator keeps it; the wire JSON is derived from it on each read.

    Status is a pure function of the fake clock: ``queue_seconds`` queued, then
    ``run_seconds`` running, then done. ``fate`` decides how it ends: "success", "fail"
    (fails half-way through the run) or "refuse" (content refusal, as it leaves the queue).
    """

    id: str
    key: str
    route: str
    type: str
    body: dict[str, Any]
    created_at: float
    queue_seconds: float
    run_seconds: float
    cost: float
    seq: int
    fate: str = "success"
    deleted: bool = False
    refunded: bool = False
    #: Output file name in the asset URL -> built-in asset name (see assets.asset_bytes).
    files: dict[str, str] = field(default_factory=dict)
    #: Provider-specific extras (e.g. Meshy's resolved ai_model, textured flag).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def started_at(self) -> float:
        return self.created_at + self.queue_seconds

    @property
    def ends_at(self) -> float:
        if self.fate == "refuse":
            return self.started_at
        if self.fate == "fail":
            return self.started_at + self.run_seconds / 2
        return self.started_at + self.run_seconds

    def phase(self, now: float) -> tuple[str, int]:
        """("queued" | "running" | "success" | "failed", progress 0..100)."""
        if now < self.started_at:
            return "queued", 0
        if now < self.ends_at:
            return "running", self._progress(now)
        if self.fate == "success":
            return "success", 100
        return "failed", self._progress(self.ends_at) if self.fate == "fail" else 0

    def _progress(self, at: float) -> int:
        if self.run_seconds <= 0:
            return 99
        fraction = (at - self.started_at) / self.run_seconds
        return max(1, min(99, int(99 * fraction)))

    def finished(self, now: float) -> bool:
        return now >= self.ends_at


@dataclass
class _Fault:
    count: int
    path_prefix: str | None
    params: dict[str, Any] = field(default_factory=dict)

    def matches(self, path: str) -> bool:
        return self.path_prefix is None or path.startswith(self.path_prefix)


class _Dropped(Exception):
    """Raised inside the app's ``send`` to abort a response drop_next chose."""


def _contains_drop(exc: BaseException) -> bool:
    if isinstance(exc, _Dropped):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return any(_contains_drop(e) for e in exc.exceptions)
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and isinstance(cause, _Dropped)


class BaseEmulator:
    """Common state and knobs; subclasses add the provider's routes and wire shapes."""

    #: "meshy" or "tripo": the first path segment of asset URLs.
    provider = ""
    #: Path prefix of the API (base_url = origin + api_prefix).
    api_prefix = ""
    #: Default link lifetime in seconds.
    default_link_ttl = 300.0

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self._lock = threading.RLock()
        self._secret = secrets.token_bytes(16)
        self._closing = False
        self._seq = 0
        self._app = self._build_app()
        self._server = ServerThread(self._asgi)
        self.reset()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> BaseEmulator:
        self._closing = False
        self._server.start()
        return self

    def stop(self) -> None:
        self._closing = True  # ends SSE streams and stalled creates at once
        self._server.stop()

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.origin + self.api_prefix

    def reset(self, clock: Clock | None = None) -> None:
        """Forget keys, tasks, files and faults; restore every knob to its default."""
        with self._lock:
            if clock is not None:
                self.clock = clock
            self._keys: dict[str, float] = {}
            self._tasks: dict[str, EmulatedTask] = {}
            self.queue_seconds = 5.0
            self.run_seconds = 30.0
            self.link_ttl = self.default_link_ttl
            self._get_failures: list[_Fault] = []
            self._drops: list[_Fault] = []
            self._rate_limits: list[_Fault] = []
            self._stalls: list[float] = []
            self._fail_words: list[str] = []
            self._refuse_words: list[tuple[str, str]] = []
            self.leaked_auth: list[LeakedAuth] = []
            self.requests: list[RequestRecord] = []
            self._reset_provider()

    def _reset_provider(self) -> None:
        """Subclass hook: reset provider-specific knobs and state."""

    # ------------------------------------------------------------------ knobs

    def add_key(self, key: str, balance: float = 1000) -> None:
        """Make ``key`` valid with ``balance`` credits (its own account)."""
        with self._lock:
            self._keys[key] = float(balance)

    def remove_key(self, key: str) -> None:
        """Revoke a key: it answers 401 from now on (its tasks stay)."""
        with self._lock:
            self._keys.pop(key, None)

    def set_balance(self, key: str, balance: float) -> None:
        with self._lock:
            self._keys[key] = float(balance)

    def balance(self, key: str) -> float:
        """The key's current balance (failed tasks refunded)."""
        with self._lock:
            self._settle()
            return self._keys[key]

    def fail_next_get(
        self, status: int = 503, count: int = 1, path_prefix: str | None = None
    ) -> None:
        """The next ``count`` API GETs (optionally only under ``path_prefix``) answer ``status``.

        500 and 503 carry the provider's JSON error body; 502 and 504 an HTML gateway page
        (as a load balancer would). Asset downloads are not affected (use drop_next).
        """
        with self._lock:
            self._get_failures.append(_Fault(count, path_prefix, {"status": status}))

    def drop_next(self, count: int = 1, path_prefix: str | None = None) -> None:
        """Cut the connection mid-body on the next ``count`` matching requests (any method).

        The request is fully handled first (a dropped create still creates and bills the
        task), then the status line and headers are sent, then half of the body (for a
        streamed SSE response: the first event), then the socket is closed. httpx raises
        ``httpx.RemoteProtocolError``. ``path_prefix`` matches the URL path from the
        origin, e.g. "/assets", "/openapi/v2/text-to-3d", "/v3/tasks"; None matches all.
        """
        with self._lock:
            self._drops.append(_Fault(count, path_prefix))

    def stall_next_create(self, seconds: float = 3.0) -> None:
        """The next create is accepted (task exists, balance debited), then the response
        waits ``seconds`` of *real* time before it is sent."""
        with self._lock:
            self._stalls.append(float(seconds))

    def fail_prompts_containing(self, word: str) -> None:
        """Tasks whose prompt (or input URL) contains ``word`` end failed half-way through
        the run, with the provider's failure shape; their credits are refunded."""
        with self._lock:
            self._fail_words.append(word.lower())

    def refuse_prompts_containing(self, word: str, at: str = "task") -> None:
        """Content refusal for prompts (or input URLs) containing ``word``.

        ``at="task"`` (default): the create is accepted and billed, then the task ends
        failed as it leaves the queue with the provider's refusal shape, refunded.
        ``at="create"``: the create itself is refused (HTTP 400), nothing billed.
        """
        if at not in ("task", "create"):
            raise ValueError("at must be 'task' or 'create'")
        with self._lock:
            self._refuse_words.append((word.lower(), at))

    # ------------------------------------------------------------------ introspection

    @property
    def tasks(self) -> list[EmulatedTask]:
        """Every task created, in order (deleted ones included, flagged ``deleted``)."""
        with self._lock:
            return list(self._tasks.values())

    def create_count(self, key: str | None = None) -> int:
        """How many tasks were created (accepted) with ``key``, or in total."""
        with self._lock:
            return sum(1 for t in self._tasks.values() if key is None or t.key == key)

    def task(self, task_id: str) -> EmulatedTask:
        with self._lock:
            return self._tasks[task_id]

    # ------------------------------------------------------------------ provider hooks

    def _add_routes(self, app: FastAPI) -> None:
        raise NotImplementedError

    def _error_response(self, request: Request | None, status: int, message: str) -> Response:
        """The provider's error body for a generic HTTP status (unknown route, 5xx)."""
        raise NotImplementedError

    def _rate_limit_response(self, scope: Scope, params: dict[str, Any]) -> Response:
        raise NotImplementedError

    def _extra_headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        """Headers added to every API response (not to assets)."""
        return []

    # ------------------------------------------------------------------ shared helpers

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _key_from(self, request: Request) -> str | None:
        """The Bearer key if it is a known one, else None."""
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None
        with self._lock:
            return token if token in self._keys else None

    def _haystack(self, *parts: object) -> str:
        return " ".join(str(p) for p in parts if p).lower()

    def _fate(self, haystack: str) -> str:
        """'refuse' / 'fail' / 'success' for a new task (create-time refusals not included)."""
        if any(w in haystack and at == "task" for w, at in self._refuse_words):
            return "refuse"
        if any(w in haystack for w in self._fail_words):
            return "fail"
        return "success"

    def _refused_at_create(self, haystack: str) -> bool:
        return any(w in haystack and at == "create" for w, at in self._refuse_words)

    def _settle(self) -> None:
        """Refund every task that has ended without success (once). Call under the lock."""
        now = self.clock.now()
        for task in self._tasks.values():
            if task.fate != "success" and not task.refunded and task.finished(now):
                task.refunded = True
                if task.key in self._keys:
                    self._keys[task.key] += task.cost

    def _active_tasks(self, key: str, now: float) -> list[EmulatedTask]:
        return [
            t
            for t in self._tasks.values()
            if t.key == key and not t.deleted and not t.finished(now)
        ]

    async def _maybe_stall(self) -> None:
        with self._lock:
            seconds = self._stalls.pop(0) if self._stalls else 0.0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not self._closing:
            await asyncio.sleep(POLL_INTERVAL)

    def _sign(self, path: str, expires: int) -> str:
        mac = hmac.new(self._secret, f"{path}\n{expires}".encode(), hashlib.sha256)
        return mac.hexdigest()[:40]

    def _signed_url(self, task_id: str, name: str) -> str:
        """A CloudFront-style signed link on the emulator's origin, valid for link_ttl."""
        path = f"/assets/{self.provider}/{task_id}/{name}"
        expires = int(self.clock.now() + self.link_ttl)
        signature = self._sign(path, expires)
        return (
            f"{self.origin}{path}?Expires={expires}&Signature={signature}&Key-Pair-Id=KEMULATOR0000"
        )

    # ------------------------------------------------------------------ ASGI plumbing

    def _build_app(self) -> FastAPI:
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

        @app.exception_handler(StarletteHTTPException)
        async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
            message = "Not Found" if exc.status_code == 404 else str(exc.detail)
            return self._error_response(request, exc.status_code, message)

        app.add_api_route(
            "/assets/{provider}/{task_id}/{name}", self._asset, methods=["GET", "HEAD"]
        )
        self._add_routes(app)
        return app

    async def _asset(self, request: Request) -> Response:
        path = request.url.path
        auth = request.headers.get("authorization")
        if auth is not None:
            with self._lock:
                self.leaked_auth.append(LeakedAuth(path, auth))
            return _access_denied("Requests to signed URLs must not carry an Authorization header")
        params = request.query_params
        try:
            expires = int(params.get("Expires", ""))
        except ValueError:
            return _access_denied("Missing Key-Pair-Id query parameter or cookie value")
        signature = params.get("Signature", "")
        if not hmac.compare_digest(signature, self._sign(path, expires)):
            return _access_denied("Invalid signature")
        if self.clock.now() > expires:
            return _access_denied("Request has expired")
        p = request.path_params
        with self._lock:
            task = self._tasks.get(p["task_id"])
            ok = (
                p["provider"] == self.provider
                and task is not None
                and not task.deleted
                and p["name"] in task.files
                and task.phase(self.clock.now())[0] == "success"
            )
            asset = task.files[p["name"]] if ok and task is not None else ""
        if not ok:
            return Response(
                b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchKey</Code>'
                b"<Message>The specified key does not exist.</Message></Error>",
                status_code=404,
                media_type="application/xml",
            )
        ext = p["name"].rsplit(".", 1)[-1]
        data = for_task(asset, await asyncio.to_thread(asset_bytes, asset), p["task_id"])
        return Response(data, media_type=CONTENT_TYPES.get(ext, "application/octet-stream"))

    def _take(self, faults: list[_Fault], path: str) -> _Fault | None:
        with self._lock:
            for fault in faults:
                if fault.count > 0 and fault.matches(path):
                    fault.count -= 1
                    if fault.count == 0:
                        faults.remove(fault)
                    return fault
        return None

    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        path: str = scope["path"]
        method: str = scope["method"]
        headers = {k.decode("latin-1").lower(): v for k, v in scope.get("headers", [])}
        is_asset = path.startswith("/assets/")
        record = RequestRecord(
            method,
            path,
            scope.get("query_string", b"").decode("latin-1"),
            "authorization" in headers,
        )
        with self._lock:
            self.requests.append(record)
        extra = [] if is_asset else self._extra_headers(scope)

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
                if extra:
                    message = dict(message)
                    message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        outer: Send = recording_send
        drop = self._take(self._drops, path)
        if drop is not None:
            outer = _dropping(recording_send)

        if not is_asset:
            injected: Response | None = None
            limit = self._take(self._rate_limits, path)
            if limit is not None:
                injected = self._rate_limit_response(scope, limit.params)
            elif method == "GET":
                failure = self._take(self._get_failures, path)
                if failure is not None:
                    injected = self._injected_failure(scope, failure.params["status"])
            if injected is not None:
                with contextlib.suppress(_Dropped):
                    await injected(scope, receive, outer)
                return
        try:
            await self._app(scope, receive, outer)
        except BaseException as exc:
            if not _contains_drop(exc):
                raise

    def _injected_failure(self, scope: Scope, status: int) -> Response:
        if status in (502, 504):
            title = {502: "502 Bad Gateway", 504: "504 Gateway Time-out"}[status]
            html = f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
            html += f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
            return Response(html, status_code=status, media_type="text/html")
        request = Request(scope)
        message = {
            500: "Internal server error.",
            503: "The server is busy. Please try again later.",
        }.get(status, "Server error.")
        return self._error_response(request, status, message)

    def _parse_query(self, scope: Scope) -> dict[str, list[str]]:
        return parse_qs(scope.get("query_string", b"").decode("latin-1"))


def _access_denied(message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>AccessDenied</Code><Message>{message}</Message></Error>"
    )
    return Response(body, status_code=403, media_type="application/xml")


def _dropping(send: Send) -> Send:
    """Wrap ``send`` so the response is cut: headers, half the body (or the first streamed
    chunk), then :class:`_Dropped` aborts the app and uvicorn closes the socket."""
    state = {"streaming": False, "sent_chunk": False}

    async def dropping_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            names = {k.lower() for k, _ in message.get("headers", [])}
            state["streaming"] = b"content-length" not in names
            await send(message)
            return
        if message["type"] != "http.response.body":
            await send(message)
            return
        body: bytes = message.get("body", b"")
        if state["streaming"]:
            if not state["sent_chunk"] and body:
                state["sent_chunk"] = True
                await send({"type": "http.response.body", "body": body, "more_body": True})
                return
            if not body and message.get("more_body", False):
                return
            raise _Dropped
        if body:
            half = body[: len(body) // 2]
            await send({"type": "http.response.body", "body": half, "more_body": True})
        raise _Dropped

    return dropping_send
