"""Tripo API V3 emulator (``https://openapi.tripo3d.ai/v3`` → ``http://127.0.0.1:PORT/v3``).

Routes, request bodies, envelopes and statuses follow the official Python SDK tripo3d 1.0.0
(``tripo3d/client.py``, ``_http.py``, ``models.py``); error codes follow
/work/shared/reference/providers.md §2.7 and the V3 delta in §2.11. README.md lists the
source of every shape and what is a choice made here.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.datastructures import UploadFile

from tests.emulators.server import BaseEmulator, EmulatedTask, Scope, _Fault

#: Route (under /v3/generation) -> task type echoed in ``data.type``.
ROUTES = {
    "text-to-model": "text_to_model",
    "image-to-model": "image_to_model",
    "multiview-to-model": "multiview_to_model",
}
MODEL_VERSIONS = (
    "Turbo-v1.0-20250506",
    "v1.4-20240625",
    "v2.0-20240919",
    "v2.5-20250123",
    "v3.0-20250812",
    "v3.1-20260211",
    "P1-20260311",
    "P2-20260801",
)
DEPRECATED_VERSIONS = ("v1.3-20240522",)
MAX_PROMPT = 1024
MAX_NEGATIVE_PROMPT = 255

_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)

SUGGEST_RETRY = "Try again later."
LIMIT_MESSAGE = "You have exceeded the limit of generation"
LIMIT_SUGGESTION = "Try again later. You can also check `Retry-After` header."


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _image_kind(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


class TripoError(Exception):
    """A V3 error: HTTP status + business code + message + suggestion."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        suggestion: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.headers = headers
        self.status = status
        self.code = code
        self.message = message
        self.suggestion = suggestion


def _bad(message: str, suggestion: str = "Check the request parameters.") -> TripoError:
    return TripoError(400, 1004, message, suggestion)


class TripoEmulator(BaseEmulator):
    """Tripo V3: generation (text / image / multiview), tasks, files, account."""

    provider = "tripo"
    api_prefix = "/v3"
    default_link_ttl = 300.0  # "links expire after five minutes" (V2 docs [T6])

    def _reset_provider(self) -> None:
        #: Concurrency per key (queued + running), per group [T3]: P-series models vs the rest.
        self.max_concurrent_tasks: int | None = 10
        self.max_concurrent_tasks_p1: int | None = 5
        #: Retry-After on the concurrency 429 (None omits it).
        self.concurrency_retry_after: float | None = 10
        #: error_code / error_msg of tasks failed by fail_prompts_containing.
        self.failure_code = 1001
        self.failure_message = "Task failed due to an internal error. Please retry."
        #: file_token -> (key, image kind, size)
        self._files: dict[str, tuple[str, str, int]] = {}

    def start(self) -> TripoEmulator:
        super().start()
        return self

    def __enter__(self) -> TripoEmulator:
        return self.start()

    # ------------------------------------------------------------------ knobs

    def rate_limit_next(
        self,
        count: int = 1,
        retry_after: float | None = 7,
        message: str | None = None,
        code: int = 2000,
        path_prefix: str | None = None,
    ) -> None:
        """The next ``count`` API requests answer 429 with ``{"code": code, ...}`` (2000:
        concurrency, the documented body [T3]; 1007: per-minute quota) and
        ``Retry-After: <retry_after>`` unless it is None."""
        with self._lock:
            self._rate_limits.append(
                _Fault(
                    count,
                    path_prefix,
                    {"retry_after": retry_after, "message": message, "code": code},
                )
            )

    @property
    def files(self) -> dict[str, tuple[str, str, int]]:
        """Uploaded files: file_token -> (key, "png" | "jpeg" | "webp", size)."""
        with self._lock:
            return dict(self._files)

    def task_json(self, task_id: str) -> dict[str, Any]:
        """``data`` of GET /v3/tasks/{id} now."""
        with self._lock:
            self._settle()
            return self._wire(self._tasks[task_id], self.clock.now())

    # ------------------------------------------------------------------ envelopes

    def _extra_headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        # The SDK sends its own X-Tripo-Trace-ID per request (_http.py:76); echo it so client
        # logs correlate, else make one.
        sent = dict(scope.get("headers", [])).get(b"x-tripo-trace-id", b"").decode("latin-1")
        trace = sent.strip()[:64] or str(uuid.uuid4())
        scope["kiln.trace_id"] = trace
        return [(b"x-tripo-trace-id", trace.encode())]

    @staticmethod
    def _ok(data: Any) -> Response:
        return JSONResponse({"code": 0, "status": "success", "data": data})

    def _fail(
        self,
        scope: Scope | None,
        error: TripoError,
        headers: dict[str, str] | None = None,
    ) -> Response:
        body = {
            "code": error.code,
            "status": "error",
            "message": error.message,
            "suggestion": error.suggestion,
            "request_id": (scope or {}).get("kiln.trace_id", ""),
        }
        return JSONResponse(body, status_code=error.status, headers=headers)

    def _error_response(self, request: Request | None, status: int, message: str) -> Response:
        code = {404: 1004, 405: 1004, 500: 1000, 503: 1000}.get(status, 1000)
        suggestion = SUGGEST_RETRY if status >= 500 else "Check the request path and method."
        scope = request.scope if request is not None else None
        return self._fail(scope, TripoError(status, code, message, suggestion))

    def _rate_limit_response(self, scope: Scope, params: dict[str, Any]) -> Response:
        code = int(params.get("code", 2000))
        message = params.get("message") or (
            LIMIT_MESSAGE if code == 2000 else "You have exceeded the per-minute task quota"
        )
        retry_after = params.get("retry_after")
        headers = None if retry_after is None else {"Retry-After": _num(retry_after)}
        return self._fail(scope, TripoError(429, code, message, LIMIT_SUGGESTION), headers)

    def _auth(self, request: Request) -> str:
        key = self._key_from(request)
        if key is None:
            raise TripoError(
                401,
                2,
                "Authentication failed: invalid or missing API key",
                "Check that the API key is correct and has not been revoked.",
            )
        return key

    # ------------------------------------------------------------------ routes

    def _add_routes(self, app: FastAPI) -> None:
        for route in ROUTES:

            def bind(route: str = route) -> Any:
                async def endpoint(request: Request) -> Response:
                    return await self._guard(request, self._create, route)

                return endpoint

            app.add_api_route(f"/v3/generation/{route}", bind(), methods=["POST"])

        def wrap(handler: Any) -> Any:
            async def endpoint(request: Request) -> Response:
                return await self._guard(request, handler)

            return endpoint

        app.add_api_route("/v3/tasks/list", wrap(self._list_tasks), methods=["POST"])
        app.add_api_route("/v3/tasks/{task_id}", wrap(self._get), methods=["GET"])
        app.add_api_route("/v3/files", wrap(self._upload), methods=["POST"])
        app.add_api_route("/v3/account/balance", wrap(self._balance), methods=["GET"])
        app.add_api_route("/v3/account/usage", wrap(self._usage), methods=["GET"])

    async def _guard(self, request: Request, handler: Any, *args: Any) -> Response:
        try:
            return await handler(request, *args)
        except TripoError as exc:
            return self._fail(request.scope, exc, exc.headers)

    async def _json_body(self, request: Request) -> dict[str, Any]:
        try:
            body = json.loads(await request.body() or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise TripoError(
                400, 1003, "The request body is not valid JSON", "Send a JSON object."
            ) from None
        if not isinstance(body, dict):
            raise TripoError(
                400, 1003, "The request body must be a JSON object", "Send a JSON object."
            )
        return body

    async def _create(self, request: Request, route: str) -> Response:
        key = self._auth(request)
        body = await self._json_body(request)
        with self._lock:
            self._settle()
            now = self.clock.now()
            spec = self._validate(route, body, key)
            if self._refused_at_create(spec["haystack"]):
                raise TripoError(
                    400,
                    2008,
                    "The input violates the content policy",
                    "Modify the prompt or image and try again.",
                )
            p_series = spec["p_series"]
            limit = self.max_concurrent_tasks_p1 if p_series else self.max_concurrent_tasks
            active = [t for t in self._active_tasks(key, now) if t.extra["p_series"] == p_series]
            if limit is not None and len(active) >= limit:
                retry = self.concurrency_retry_after
                headers = None if retry is None else {"Retry-After": _num(retry)}
                raise TripoError(429, 2000, LIMIT_MESSAGE, LIMIT_SUGGESTION, headers)
            if self._keys[key] < spec["cost"]:
                raise TripoError(
                    403,
                    2010,
                    "You don't have enough credits for this task",
                    "Top up your credits and try again.",
                )
            self._keys[key] -= spec["cost"]
            task = EmulatedTask(
                id=str(uuid.uuid4()),
                key=key,
                route=route,
                type=ROUTES[route],
                body=body,
                created_at=now,
                queue_seconds=float(self.queue_seconds),
                run_seconds=float(self.run_seconds),
                cost=spec["cost"],
                seq=self._next_seq(),
                fate=self._fate(spec["haystack"]),
                files=spec["files"],
                extra={"p_series": p_series, "model": spec["model"]},
            )
            self._tasks[task.id] = task
        await self._maybe_stall()
        return self._ok({"task_id": task.id})

    async def _get(self, request: Request) -> Response:
        key = self._auth(request)
        with self._lock:
            self._settle()
            task = self._tasks.get(request.path_params["task_id"])
            if task is None or task.key != key:
                raise TripoError(
                    404,
                    2001,
                    "Task not found",
                    "Check the task_id; tasks are visible only to the key that created them.",
                )
            return self._ok(self._wire(task, self.clock.now()))

    async def _list_tasks(self, request: Request) -> Response:
        key = self._auth(request)
        body = await self._json_body(request)
        ids = body.get("task_ids")
        if (
            not isinstance(ids, list)
            or not 1 <= len(ids) <= 100
            or not all(isinstance(i, str) for i in ids)
        ):
            raise _bad("task_ids must be a list of 1 to 100 task ids")
        with self._lock:
            self._settle()
            now = self.clock.now()
            tasks: dict[str, Any] = {}
            missed: list[str] = []
            for task_id in ids:
                task = self._tasks.get(task_id)
                if task is None or task.key != key:
                    missed.append(task_id)
                else:
                    tasks[task_id] = self._wire(task, now)
        return self._ok({"tasks": tasks, "missed": missed})

    async def _balance(self, request: Request) -> Response:
        key = self._auth(request)
        with self._lock:
            self._settle()
            now = self.clock.now()
            frozen = sum(t.cost for t in self._active_tasks(key, now))
            return self._ok({"balance": float(self._keys[key]), "frozen": float(frozen)})

    async def _usage(self, request: Request) -> Response:
        key = self._auth(request)
        try:
            limit = int(request.query_params.get("limit", "50"))
            offset = int(request.query_params.get("offset", "0"))
        except ValueError:
            raise _bad("limit and offset must be integers") from None
        if limit < 1 or offset < 0:
            raise _bad("limit must be positive and offset non-negative")
        with self._lock:
            self._settle()
            now = self.clock.now()
            mine = sorted(
                (t for t in self._tasks.values() if t.key == key),
                key=lambda t: (t.created_at, t.seq),
                reverse=True,
            )
            items = []
            for task in mine[offset : offset + limit]:
                wire = self._wire(task, now)
                items.append(
                    {
                        k: wire[k]
                        for k in ("task_id", "type", "status", "created_at", "credits_consumed")
                    }
                )
        return self._ok({"items": items})

    async def _upload(self, request: Request) -> Response:
        key = self._auth(request)
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise TripoError(
                400,
                1003,
                "Upload must be multipart/form-data",
                "Send the file in the multipart field 'file'.",
            )
        form = await request.form()
        try:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise _bad(
                    "The multipart field 'file' is required",
                    "Send the file in the multipart field 'file'.",
                )
            data = await upload.read()
        finally:
            await form.close()
        if not data:
            raise TripoError(400, 2003, "The input file is empty", "Upload a non-empty image.")
        kind = _image_kind(data)
        if kind is None:
            raise TripoError(
                400, 2004, "Unsupported file type", "Upload a PNG, JPEG or WebP image."
            )
        token = f"file_{uuid.uuid4()}"
        with self._lock:
            self._files[token] = (key, kind, len(data))
        return self._ok({"file_token": token})

    # ------------------------------------------------------------------ validation & cost

    def _resolve(self, value: Any, key: str) -> str | None:
        """Check one image input (``input`` string or V2-style ``file`` object).

        Returns text to match refusal words against, or None for an empty slot.
        """
        if value is None or value == {}:
            return None
        if isinstance(value, dict):
            if "file_token" in value:
                return self._resolve(value["file_token"], key)
            if "url" in value:
                return self._resolve(value["url"], key)
            if "object" in value and isinstance(value["object"], dict):
                return ""
            raise _bad(
                "A file object needs file_token, url or object",
                "Upload the image to /v3/files and pass its file_token.",
            )
        if not isinstance(value, str) or not value.strip():
            raise _bad("input must be a URL, file_token or task_id")
        text = value.strip()
        if text.startswith("data:"):
            raise _bad(
                "Data URIs are not supported",
                "Upload the image to /v3/files and pass its file_token.",
            )
        if text.startswith(("http://", "https://")):
            return text
        if _UUID.match(text):
            task = self._tasks.get(text)
            if task is None or task.key != key:
                raise TripoError(404, 2001, "Task not found", "Check the task_id.")
            raise TripoError(
                400,
                2006,
                "The input task does not produce an image",
                "Pass an image URL or file_token.",
            )
        entry = self._files.get(text)
        if entry is None or entry[0] != key:
            raise TripoError(
                404,
                2019,
                "File not found",
                "Upload the file to /v3/files first and use its file_token.",
            )
        return ""

    def _validate(self, route: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        model = body.get("model", body.get("model_version"))
        if model is None or model == "":
            raise _bad("model_version is required", "Pass model (or model_version).")
        if model in DEPRECATED_VERSIONS:
            raise TripoError(
                400, 2015, f"Model version {model} is deprecated", "Use a current model version."
            )
        if model not in MODEL_VERSIONS:
            raise TripoError(
                400, 2017, f"Invalid model version: {model}", "Use a supported model version."
            )
        texture = body.get("texture", True)
        pbr = body.get("pbr", True)
        if not isinstance(texture, bool) or not isinstance(pbr, bool):
            raise _bad("texture and pbr must be booleans")
        textured = texture or pbr

        haystack_parts: list[str] = []
        if route == "text-to-model":
            prompt = body.get("prompt")
            if not isinstance(prompt, str) or not prompt.strip():
                raise _bad("prompt is required")
            if len(prompt) > MAX_PROMPT:
                raise _bad(f"prompt must be at most {MAX_PROMPT} characters", "Shorten the prompt.")
            negative = body.get("negative_prompt")
            if negative is not None and (
                not isinstance(negative, str) or len(negative) > MAX_NEGATIVE_PROMPT
            ):
                raise _bad(f"negative_prompt must be at most {MAX_NEGATIVE_PROMPT} characters")
            haystack_parts.append(prompt)
        elif route == "image-to-model":
            source = body.get("input", body.get("file"))
            found = self._resolve(source, key)
            if found is None:
                raise _bad(
                    "input is required", "Pass an image URL or the file_token from /v3/files."
                )
            haystack_parts.append(found)
        else:
            slots = body.get("inputs", body.get("files"))
            if not isinstance(slots, list) or len(slots) != 4:
                raise _bad(
                    "Multiview needs exactly 4 slots in the order front, left, back, right",
                    "Use null (or {}) for a missing view.",
                )
            resolved = [self._resolve(slot, key) for slot in slots]
            if resolved[0] is None:
                raise _bad("The front view (slot 0) is required")
            if sum(r is not None for r in resolved) < 2:
                raise _bad("Multiview needs at least 2 views")
            haystack_parts.extend(r for r in resolved if r)

        p_series = str(model).startswith("P")
        kind = "text" if route == "text-to-model" else "image"
        table = {
            (False, "text"): (20, 10),
            (False, "image"): (30, 20),
            (True, "text"): (40, 30),
            (True, "image"): (50, 40),
        }
        textured_cost, plain_cost = table[(p_series, kind)]
        cost = textured_cost if textured else plain_cost
        if not p_series:
            if textured and body.get("texture_quality") == "detailed":
                cost += 10
            if body.get("smart_low_poly"):
                cost += 10
            if body.get("quad"):
                cost += 5
            if body.get("generate_parts"):
                cost += 20
        model_file = "model.fbx" if body.get("quad") else "model.glb"
        files = {
            model_file: "fbx" if body.get("quad") else ("glb" if textured else "glb-plain"),
            "rendered_image.png": "render",
        }
        return {
            "cost": float(cost),
            "p_series": p_series,
            "model": model,
            "files": files,
            "haystack": self._haystack(*haystack_parts),
        }

    # ------------------------------------------------------------------ wire shape

    def _wire(self, task: EmulatedTask, now: float) -> dict[str, Any]:
        """``data`` of GET /v3/tasks/{id} (SDK models.Task.from_dict reads these keys)."""
        phase, progress = task.phase(now)
        finished = task.finished(now)
        queuing = -1
        if phase == "queued":
            queuing = sum(
                1
                for t in self._tasks.values()
                if t.key == task.key and t.seq < task.seq and t.phase(now)[0] == "queued"
            )
        left = -1 if finished else max(0, math.ceil(task.ends_at - now))
        data: dict[str, Any] = {
            "task_id": task.id,
            "type": task.type,
            "status": phase,
            "input": task.body,
            "output": {},
            "progress": progress,
            "created_at": _iso(task.created_at),
            "completed_at": _iso(task.ends_at) if finished else None,
            "credits_consumed": 0.0 if phase == "failed" else float(task.cost),
            "queuing_num": queuing,
            "running_left_time": left,
        }
        if phase == "success":
            model_file = next(name for name in task.files if name.startswith("model."))
            data["output"] = {
                "model_url": self._signed_url(task.id, model_file),
                "rendered_image_url": self._signed_url(task.id, "rendered_image.png"),
            }
        elif phase == "failed":
            if task.fate == "refuse":
                data["error_code"] = 2008
                data["error_msg"] = "The input violates the content policy"
            else:
                data["error_code"] = self.failure_code
                data["error_msg"] = self.failure_message
        return data


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
