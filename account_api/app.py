"""The FastAPI application: routes, and the handlers that make every error a plain sentence."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

from account_api.api import auth, blobs, credits, models, service
from account_api.blobs import BlobStore, open_blob_store
from account_api.clock import Clock, SystemClock
from account_api.context import Services
from account_api.database import Database
from account_api.errors import ApiError
from account_api.middleware import RequestGuard
from account_api.openapi import document_errors
from account_api.passwords import Passwords
from account_api.settings import Settings

log = logging.getLogger("account_api")

_PLAIN_STATUS = {
    404: "There is nothing at this address.",
    405: "This address does not accept that method.",
}


def create_app(
    settings: Settings,
    *,
    db: Database | None = None,
    blob_store: BlobStore | None = None,
    clock: Clock | None = None,
) -> FastAPI:
    """The service for ``settings``. Migrations are not run here (see ``migrate``)."""
    services = Services(
        settings=settings,
        db=db or Database(settings.database_url),
        blobs=blob_store or open_blob_store(settings),
        clock=clock or SystemClock(),
        passwords=Passwords(
            settings.argon2, max_concurrent=settings.max_concurrent_hashes, wait=settings.hash_wait
        ),
    )
    app = FastAPI(
        title="Kiln Studio account API",
        version="1",
        description="Accounts, credits (holds and ledger) and model sync for Kiln Studio.",
        dependencies=[Depends(_known_query_only)],
    )
    app.state.services = services
    for module in (service, auth, credits, models, blobs):
        app.include_router(module.router)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(InterfaceError, _database_unavailable)
    # Unexpected exceptions are answered by RequestGuard, not by an ``Exception`` handler:
    # Starlette re-raises after such a handler, and uvicorn then drops the connection.
    app.add_middleware(RequestGuard, max_json_bytes=settings.max_json_bytes)
    document_errors(app)
    return app


def _known_query_only(request: Request) -> None:
    """Unknown query parameters are refused, as unknown body fields are: a typo in a client
    is an error, not a silent no-op."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    known: set[str] = set()
    pending: list[Dependant] = [route.dependant]
    while pending:
        dependant = pending.pop()
        known |= {param.alias for param in dependant.query_params}
        pending.extend(dependant.dependencies)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise ApiError(422, f"The query parameter '{unknown[0][:100]}' is not expected here.")


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=exc.headers)


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": validation_sentence(exc.errors())}, status_code=422)


def validation_sentence(errors: Any) -> str:
    """One plain sentence for pydantic's first complaint about a request."""
    if not errors:
        return "The request is not valid."
    first = errors[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path"))
    kind = str(first.get("type", ""))
    if kind == "json_invalid":
        return "The request body is not valid JSON."
    if kind == "missing":
        return f"The field '{where}' is missing." if where else "The request body is missing."
    if kind == "extra_forbidden":
        return f"The field '{where}' is not expected here."
    if kind == "string_pattern_mismatch":
        message = "it holds characters or a form that is not allowed here"
    elif kind == "value_error":
        message = str(first.get("msg", "is not valid")).removeprefix("Value error, ")
    else:
        message = str(first.get("msg", "is not valid"))
    message = message.rstrip(".")
    return f"Check '{where}': {message}." if where else f"The request is not valid: {message}."


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = _PLAIN_STATUS.get(exc.status_code, exc.detail)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_allowed_methods(request))
    return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's,
    and FastAPI makes one route per method)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match != Match.NONE and isinstance(route, BaseRoute):
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable on %s %s: %s", request.method, request.url.path, type(exc))
    return JSONResponse(
        {"detail": "The service cannot reach its database right now. Try again in a moment."},
        status_code=503,
        headers={"Retry-After": "5"},
    )
