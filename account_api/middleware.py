"""What every request goes through before a route sees it, and after.

:class:`RequestGuard` is a plain ASGI middleware (inside Starlette's outermost error
middleware, outside the routes' exception handlers) that

* caps every request body at ``max_json_bytes`` (declared or streamed) before anything reads
  it: 413. The blob upload route streams its own body under its own cap;
* refuses JSON that nests deeper than ``MAX_JSON_DEPTH``, holds a string longer than
  ``MAX_JSON_STRING``, a lone surrogate, ``NaN`` or ``Infinity``: 422;
* answers an unexpected exception with the plain 500 and *returns* (Starlette's error
  middleware re-raises, and uvicorn then closes the connection, so the client's next request
  on that keep-alive connection was reset);
* writes one access-log line per request: address, method, path (never the query string,
  which may carry a token), status and time.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

log = logging.getLogger("account_api")
access_log = logging.getLogger("account_api.access")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_JSON_DEPTH = 32
MAX_JSON_STRING = 100_000
#: Routes that stream their body themselves (each with its own cap).
_STREAMING = re.compile(r"^/v1/blobs/[^/]+$")
UNEXPECTED = "Something went wrong on our side. Try again later."


class _Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _reject_constant(name: str) -> Any:
    raise _Refused(422, "The request body holds NaN or Infinity, which JSON does not allow.")


def json_problem(body: bytes) -> str | None:
    """Why ``body`` (JSON) is refused, or ``None`` (also when it is not JSON at all: the
    route answers that itself)."""
    try:
        document = json.loads(body, parse_constant=_reject_constant)
    except _Refused as refused:
        return refused.detail
    except RecursionError:
        return f"The request body nests deeper than {MAX_JSON_DEPTH} levels."
    except ValueError:
        return None
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        node, depth = pending.pop()
        if isinstance(node, dict | list):
            if depth > MAX_JSON_DEPTH:
                return f"The request body nests deeper than {MAX_JSON_DEPTH} levels."
            if isinstance(node, dict):
                pending.extend((key, depth + 1) for key in node)
                pending.extend((value, depth + 1) for value in node.values())
            else:
                pending.extend((value, depth + 1) for value in node)
        elif isinstance(node, str):
            if len(node) > MAX_JSON_STRING:
                return f"A text in the request is longer than {MAX_JSON_STRING:,} characters."
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return "The request body holds text that is not valid Unicode."
    return None


async def _reply(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]]) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    def __init__(self, app: App, *, max_json_bytes: int) -> None:
        self.app = app
        self.max_json_bytes = max_json_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = {"status": 0, "started": False}

        async def tracked_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"], state["started"] = message["status"], True
            await send(message)

        try:
            if _STREAMING.match(scope.get("path", "")):
                await self.app(scope, receive, tracked_send)
            else:
                await self._buffered(scope, receive, tracked_send)
        except Exception as exc:
            log.error(
                "unexpected error on %s %s", scope.get("method"), scope.get("path"), exc_info=exc
            )
            if state["started"]:
                raise  # half an answer was sent: only closing the connection can tell
            await _reply(tracked_send, 500, UNEXPECTED, [])
        finally:
            client = scope.get("client") or ("-", 0)
            access_log.info(
                '%s "%s %s" %s %.0f ms',
                client[0],
                scope.get("method"),
                scope.get("path"),
                state["status"],
                (time.perf_counter() - started) * 1000,
            )

    async def _buffered(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.max_json_bytes
        too_large = f"The request body is larger than the {limit:,} bytes this address accepts."
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await _reply(send, 413, too_large, [(b"connection", b"close")])
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _reply(send, 413, too_large, [(b"connection", b"close")])
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if body and body.lstrip()[:1] in (b"{", b"["):
            problem = json_problem(body)
            if problem is not None:
                await _reply(send, 422, problem, [])
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
