"""Meshy API emulator (``https://api.meshy.ai/openapi`` → ``http://127.0.0.1:PORT/openapi``).

Wire shapes follow /work/shared/reference/providers.md §1 and §5.2; see README.md for the
per-field sources and for what is a documented fact versus a choice made here.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import os
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from tests.emulators.server import POLL_INTERVAL, BaseEmulator, EmulatedTask, Scope, _Fault

#: Route family -> path under /openapi.
FAMILIES = {
    "text-to-3d": "/v2/text-to-3d",
    "image-to-3d": "/v1/image-to-3d",
    "multi-image-to-3d": "/v1/multi-image-to-3d",
}
STATUS = {"queued": "PENDING", "running": "IN_PROGRESS", "success": "SUCCEEDED", "failed": "FAILED"}
AI_MODELS = ("meshy-5", "meshy-6", "latest")
MODEL_FORMATS = ("glb", "obj", "fbx", "stl", "usdz", "3mf")
DEFAULT_FORMATS = ("glb", "obj", "fbx", "stl", "usdz")
MAX_PROMPT = 600
ASSET_RETENTION = 3 * 24 * 3600  # non-Enterprise assets are kept 3 days [M3]

MSG_AUTH = "Invalid API key"
MSG_CREDITS = "Insufficient credits"
MSG_NOT_FOUND = "Task not found"
MSG_REFUSED = "The input violates Meshy's content policy and was rejected by moderation."
MSG_QUEUE_FULL = "NoMoreConcurrentTasks"

_DATA_URI = re.compile(r"data:image/(png|jpeg);base64,(.*)", re.DOTALL)


def _uuid7(ms: int) -> str:
    """A k-sortable UUIDv7 built from the fake clock's milliseconds."""
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((rand >> 62) & 0xFFF) << 64
    value |= 0b10 << 62
    value |= rand & ((1 << 62) - 1)
    return str(uuid.UUID(int=value))


def _ms(t: float) -> int:
    return round(t * 1000)


def valid_image_url(value: object) -> bool:
    """http(s) URL or ``data:image/(png|jpeg);base64,<valid base64>`` [M3 §5.2]."""
    if not isinstance(value, str):
        return False
    if value.startswith(("http://", "https://")):
        return len(value.split("://", 1)[1]) > 0
    match = _DATA_URI.fullmatch(value)
    if not match or not match.group(2):
        return False
    try:
        base64.b64decode(match.group(2), validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


class _BadRequest(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class MeshyEmulator(BaseEmulator):
    """Meshy text-to-3d (v2), image-to-3d and multi-image-to-3d (v1), balance, SSE."""

    provider = "meshy"
    api_prefix = "/openapi"
    default_link_ttl = float(ASSET_RETENTION)

    def _reset_provider(self) -> None:
        #: 429 NoMoreConcurrentTasks once this many tasks of a key are PENDING/IN_PROGRESS
        #: (None: unlimited). Meshy Pro's queue limit is 10 [M8].
        self.max_queue_tasks: int | None = 10
        #: Retry-After on the queue-full 429 (None omits it, as reported for Meshy).
        self.queue_retry_after: float | None = None
        #: SSE re-sends the current task after this many fake-clock seconds without change.
        self.sse_keepalive_seconds = 10.0
        #: task_error.message of tasks failed by fail_prompts_containing.
        self.failure_message = "Internal server error."
        #: Deleting a task still PENDING gives its credits back; one that has started
        #: keeps them (Meshy's own MCP server, meshy_cancel_task, v0.6.4 ⚠️).
        self.refund_deleted_pending = True

    def start(self) -> MeshyEmulator:
        super().start()
        return self

    def __enter__(self) -> MeshyEmulator:
        return self.start()

    # ------------------------------------------------------------------ knobs

    def rate_limit_next(
        self,
        count: int = 1,
        retry_after: float | None = 7,
        message: str = "RateLimitExceeded",
        path_prefix: str | None = None,
    ) -> None:
        """The next ``count`` API requests answer 429 ``{"message": message}``
        (``"RateLimitExceeded"`` or ``"NoMoreConcurrentTasks"`` [M8]), with
        ``Retry-After: <retry_after>`` unless it is None."""
        with self._lock:
            self._rate_limits.append(
                _Fault(count, path_prefix, {"retry_after": retry_after, "message": message})
            )

    def task_json(self, task_id: str) -> dict[str, Any]:
        """The task as GET would return it now."""
        with self._lock:
            self._settle()
            return self._wire(self._tasks[task_id], self.clock.now())

    # ------------------------------------------------------------------ responses

    @staticmethod
    def _message(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
        return JSONResponse({"message": message}, status_code=status, headers=headers)

    def _error_response(self, request: Request | None, status: int, message: str) -> Response:
        return self._message(status, message)

    def _rate_limit_response(self, scope: Scope, params: dict[str, Any]) -> Response:
        retry_after = params.get("retry_after")
        headers = None if retry_after is None else {"Retry-After": _num(retry_after)}
        return self._message(429, str(params.get("message", "RateLimitExceeded")), headers)

    # ------------------------------------------------------------------ routes

    def _add_routes(self, app: FastAPI) -> None:
        for family, path in FAMILIES.items():
            base = self.api_prefix + path

            def bind(handler: Any, family: str = family) -> Any:
                async def endpoint(request: Request) -> Response:
                    return await handler(request, family)

                return endpoint

            app.add_api_route(base, bind(self._create), methods=["POST"])
            app.add_api_route(base, bind(self._list), methods=["GET"])
            app.add_api_route(base + "/{task_id}", bind(self._get), methods=["GET"])
            app.add_api_route(base + "/{task_id}", bind(self._delete), methods=["DELETE"])
            app.add_api_route(base + "/{task_id}/stream", bind(self._stream), methods=["GET"])
        app.add_api_route(self.api_prefix + "/v1/balance", self._balance, methods=["GET"])

    async def _balance(self, request: Request) -> Response:
        key = self._key_from(request)
        if key is None:
            return self._message(401, MSG_AUTH)
        with self._lock:
            self._settle()
            return JSONResponse({"balance": _num_value(self._keys[key])})

    async def _create(self, request: Request, family: str) -> Response:
        key = self._key_from(request)
        if key is None:
            return self._message(401, MSG_AUTH)
        try:
            body = json.loads(await request.body() or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return self._message(400, "Invalid JSON body")
        if not isinstance(body, dict):
            return self._message(400, "Request body must be a JSON object")
        with self._lock:
            self._settle()
            now = self.clock.now()
            try:
                spec = self._validate(family, body, key, now)
            except _BadRequest as exc:
                return self._message(400, exc.message)
            if self._refused_at_create(spec["haystack"]):
                return self._message(400, MSG_REFUSED)
            limit = self.max_queue_tasks
            if limit is not None and len(self._active_tasks(key, now)) >= limit:
                headers = None
                if self.queue_retry_after is not None:
                    headers = {"Retry-After": _num(self.queue_retry_after)}
                return self._message(429, MSG_QUEUE_FULL, headers)
            if self._keys[key] < spec["cost"]:
                return self._message(402, MSG_CREDITS)
            self._keys[key] -= spec["cost"]
            task = EmulatedTask(
                id=_uuid7(_ms(now)),
                key=key,
                route=family,
                type=spec["type"],
                body=body,
                created_at=now,
                queue_seconds=float(self.queue_seconds),
                run_seconds=float(self.run_seconds),
                cost=spec["cost"],
                seq=self._next_seq(),
                fate=self._fate(spec["haystack"]),
                files=spec["files"],
                extra=spec["extra"],
            )
            self._tasks[task.id] = task
        await self._maybe_stall()
        return JSONResponse({"result": task.id}, status_code=202)

    def _owned(self, key: str, task_id: str, family: str) -> EmulatedTask | None:
        task = self._tasks.get(task_id)
        if task is None or task.deleted or task.key != key or task.route != family:
            return None
        return task

    async def _get(self, request: Request, family: str) -> Response:
        key = self._key_from(request)
        if key is None:
            return self._message(401, MSG_AUTH)
        with self._lock:
            self._settle()
            task = self._owned(key, request.path_params["task_id"], family)
            if task is None:
                return self._message(404, MSG_NOT_FOUND)
            return JSONResponse(self._wire(task, self.clock.now()))

    async def _delete(self, request: Request, family: str) -> Response:
        key = self._key_from(request)
        if key is None:
            return self._message(401, MSG_AUTH)
        with self._lock:
            self._settle()
            task = self._owned(key, request.path_params["task_id"], family)
            if task is None:
                return self._message(404, MSG_NOT_FOUND)
            task.deleted = True
            waiting = task.phase(self.clock.now())[0] == "queued"
            if self.refund_deleted_pending and waiting and not task.refunded:
                task.refunded = True
                if task.key in self._keys:
                    self._keys[task.key] += task.cost
        return Response(status_code=200)

    async def _list(self, request: Request, family: str) -> Response:
        key = self._key_from(request)
        if key is None:
            return self._message(401, MSG_AUTH)
        q = request.query_params
        try:
            page_num = int(q.get("page_num", "1"))
            page_size = int(q.get("page_size", "10"))
        except ValueError:
            return self._message(400, "page_num and page_size must be integers")
        if page_num < 1 or page_size < 1:
            return self._message(400, "page_num and page_size must be positive")
        page_size = min(page_size, 50)
        sort_by = q.get("sort_by", "-created_at").strip()  # a raw "+" arrives as a space
        if sort_by not in ("-created_at", "+created_at", "created_at"):
            return self._message(400, "sort_by must be +created_at or -created_at")
        with self._lock:
            self._settle()
            now = self.clock.now()
            mine = [
                t
                for t in self._tasks.values()
                if t.key == key and t.route == family and not t.deleted
            ]
            mine.sort(key=lambda t: (t.created_at, t.seq), reverse=sort_by.startswith("-"))
            page = mine[(page_num - 1) * page_size : page_num * page_size]
            return JSONResponse([self._wire(t, now) for t in page])

    async def _stream(self, request: Request, family: str) -> Response:
        key = self._key_from(request)
        if key is None:
            return self._message(401, MSG_AUTH)
        task_id = request.path_params["task_id"]

        async def events() -> AsyncIterator[str]:
            last_text = ""
            last_sent = 0.0
            while not self._closing:
                with self._lock:
                    self._settle()
                    task = self._owned(key, task_id, family)
                    now = self.clock.now()
                    data = self._wire(task, now) if task is not None else None
                    terminal = task is not None and task.finished(now)
                if data is None:
                    error = {"message": MSG_NOT_FOUND, "status_code": 404}
                    yield f"event: error\ndata: {json.dumps(error)}\n\n"
                    return
                text = json.dumps(data, separators=(",", ":"))
                if text != last_text or now - last_sent >= self.sse_keepalive_seconds:
                    yield f"event: message\ndata: {text}\n\n"
                    last_text, last_sent = text, now
                if terminal:
                    return
                await asyncio.sleep(POLL_INTERVAL)

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    # ------------------------------------------------------------------ validation & cost

    def _validate(self, family: str, body: dict[str, Any], key: str, now: float) -> dict[str, Any]:
        """Check a create body; returns type, cost, files, echo extras and the refusal text."""
        ai_model = body.get("ai_model", "latest")
        if ai_model == "meshy-4":
            raise _BadRequest("meshy-4 has been retired. Use meshy-5, meshy-6 or latest.")
        if ai_model not in AI_MODELS:
            raise _BadRequest(f"Invalid ai_model: {ai_model}")
        model_type = body.get("model_type", "standard")
        if model_type not in ("standard", "lowpoly"):
            raise _BadRequest(f"Invalid model_type: {model_type}")
        if body.get("topology", "triangle") not in ("quad", "triangle"):
            raise _BadRequest("topology must be quad or triangle")
        polycount = body.get("target_polycount", 30000)
        if not isinstance(polycount, int) or isinstance(polycount, bool):
            raise _BadRequest("target_polycount must be an integer")
        if not 100 <= polycount <= 300_000:
            raise _BadRequest("target_polycount must be between 100 and 300,000")
        formats = body.get("target_formats", list(DEFAULT_FORMATS))
        if (
            not isinstance(formats, list)
            or not formats
            or any(f not in MODEL_FORMATS for f in formats)
        ):
            raise _BadRequest(f"target_formats must be a list of {', '.join(MODEL_FORMATS)}")
        texture_prompt = body.get("texture_prompt")
        if texture_prompt is not None and (
            not isinstance(texture_prompt, str) or len(texture_prompt) > MAX_PROMPT
        ):
            raise _BadRequest(f"texture_prompt must be at most {MAX_PROMPT} characters")
        texture_image_url = body.get("texture_image_url")
        if texture_image_url is not None and not valid_image_url(texture_image_url):
            raise _BadRequest("Invalid texture_image_url")
        meshy6 = ai_model in ("meshy-6", "latest") or model_type == "lowpoly"
        pbr = bool(body.get("enable_pbr", False))

        if family == "text-to-3d":
            mode = body.get("mode")
            if mode == "preview":
                prompt = body.get("prompt")
                if not isinstance(prompt, str) or not prompt.strip():
                    raise _BadRequest("prompt is required")
                if len(prompt) > MAX_PROMPT:
                    raise _BadRequest(f"prompt must be at most {MAX_PROMPT} characters")
                return self._spec(
                    "text-to-3d-preview",
                    20 if meshy6 else 5,
                    formats,
                    textured=False,
                    pbr=False,
                    haystack=self._haystack(prompt),
                    extra={"prompt": prompt},
                )
            if mode == "refine":
                preview_id = body.get("preview_task_id")
                preview = self._tasks.get(preview_id) if isinstance(preview_id, str) else None
                if (
                    preview is None
                    or preview.deleted
                    or preview.key != key
                    or preview.type != "text-to-3d-preview"
                ):
                    raise _BadRequest(f"Invalid preview_task_id: {preview_id}")
                if preview.phase(now)[0] != "success":
                    raise _BadRequest("The preview task must have SUCCEEDED before refine")
                prompt = preview.extra.get("prompt", "")
                return self._spec(
                    "text-to-3d-refine",
                    10,
                    formats,
                    textured=True,
                    pbr=pbr,
                    haystack=self._haystack(prompt, texture_prompt, texture_image_url),
                    extra={"prompt": prompt, "preview_task_id": preview_id},
                )
            raise _BadRequest("mode must be preview or refine")

        if family == "image-to-3d":
            image_url = body.get("image_url")
            if image_url is None:
                raise _BadRequest("image_url is required")
            if not valid_image_url(image_url):
                raise _BadRequest(
                    "Invalid image_url: use an http(s) URL or a data:image/png or "
                    "data:image/jpeg base64 data URI"
                )
            urls = [image_url]
        else:
            urls = body.get("image_urls")
            if not isinstance(urls, list) or not 1 <= len(urls) <= 4:
                raise _BadRequest("image_urls must hold 1 to 4 images")
            for url in urls:
                if not valid_image_url(url):
                    raise _BadRequest(
                        "Invalid image_urls entry: use an http(s) URL or a data:image/png or "
                        "data:image/jpeg base64 data URI"
                    )
        textured = bool(body.get("should_texture", True))
        cost = (30 if textured else 20) if meshy6 else (15 if textured else 5)
        # Data URIs are not worth matching against; URLs are (tests can name a file "explode").
        named = [u for u in urls if isinstance(u, str) and not u.startswith("data:")]
        return self._spec(
            family,
            cost,
            formats,
            textured=textured,
            pbr=pbr and textured,
            haystack=self._haystack(*named, texture_prompt),
            extra={},
        )

    @staticmethod
    def _spec(
        type_: str,
        cost: float,
        formats: list[str],
        *,
        textured: bool,
        pbr: bool,
        haystack: str,
        extra: dict[str, Any],
    ) -> dict[str, Any]:
        files: dict[str, str] = {}
        for fmt in formats:
            asset = fmt
            if fmt == "glb":
                asset = "glb" if textured else "glb-plain"
            files[f"model.{fmt}"] = asset
            if fmt == "obj":
                files["model.mtl"] = "mtl"
        files["preview.png"] = "render"
        if textured:
            files["texture_0_base_color.png"] = "base_color"
            if pbr:
                for name in ("metallic", "normal", "roughness"):
                    files[f"texture_0_{name}.png"] = name
        extra = {**extra, "formats": list(formats), "textured": textured, "pbr": pbr}
        return {
            "type": type_,
            "cost": float(cost),
            "files": files,
            "haystack": haystack,
            "extra": extra,
        }

    # ------------------------------------------------------------------ wire shape

    def _wire(self, task: EmulatedTask, now: float) -> dict[str, Any]:
        """The task object of §1.4 / §5.2 at fake time ``now``."""
        phase, progress = task.phase(now)
        finished = task.finished(now)
        preceding = 0
        if phase == "queued":
            preceding = sum(
                1
                for t in self._tasks.values()
                if t.key == task.key
                and not t.deleted
                and t.seq < task.seq
                and t.phase(now)[0] == "queued"
            )
        data: dict[str, Any] = {
            "id": task.id,
            "type": task.type,
            "status": STATUS[phase],
            "progress": progress,
            "preceding_tasks": preceding,
            "created_at": _ms(task.created_at),
            "started_at": _ms(task.started_at) if now >= task.started_at else 0,
            "finished_at": _ms(task.ends_at) if finished else 0,
            "expires_at": _ms(task.ends_at + ASSET_RETENTION) if phase == "success" else 0,
            "model_urls": {},
            "thumbnail_url": "",
            "task_error": {"message": ""},
            "consumed_credits": 0 if phase == "failed" else int(task.cost),
        }
        body = task.body
        for echo in ("prompt", "preview_task_id"):
            if echo in task.extra:
                data[echo] = task.extra[echo]
        for echo in (
            "art_style",
            "negative_prompt",
            "texture_prompt",
            "texture_image_url",
            "image_url",
            "image_urls",
            "should_texture",
            "enable_pbr",
            "target_formats",
        ):
            if echo in body:
                data[echo] = body[echo]
        data["ai_model"] = body.get("ai_model", "latest")
        if task.type == "text-to-3d-preview":
            data["model_type"] = body.get("model_type", "standard")
        if task.extra.get("textured"):
            data["texture_urls"] = []
        if phase == "success":
            urls: dict[str, str] = {}
            for fmt in task.extra["formats"]:
                urls[fmt] = self._signed_url(task.id, f"model.{fmt}")
                if fmt == "obj":
                    urls["mtl"] = self._signed_url(task.id, "model.mtl")
            data["model_urls"] = urls
            data["thumbnail_url"] = self._signed_url(task.id, "preview.png")
            if task.extra.get("textured"):
                maps = {"base_color": self._signed_url(task.id, "texture_0_base_color.png")}
                if task.extra.get("pbr"):
                    for name in ("metallic", "normal", "roughness"):
                        maps[name] = self._signed_url(task.id, f"texture_0_{name}.png")
                data["texture_urls"] = [maps]
        elif phase == "failed":
            if task.fate == "refuse":
                data["task_error"] = {"message": MSG_REFUSED, "type": "content_policy_violation"}
            else:
                data["task_error"] = {"message": self.failure_message, "type": "server_error"}
        return data


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _num_value(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
