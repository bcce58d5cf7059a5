"""The OpenAPI document: every operation lists every error it can answer, in one shape.

Errors come from the route (401, 402, 403, 404, 409, 422), from the request guard in front of
every route (413, 422), from the limits (429, 503 with Retry-After) and from the database
(503), so each operation documents all of them with :class:`studio.account.schema.Problem`.
FastAPI's own 422 model (a list of pydantic errors) is never what this service sends, so it
is replaced.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from studio.account import schema

_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer"},
    }
}
ERRORS: dict[str, tuple[str, dict[str, Any]]] = {
    "400": ("The request cannot be read, or a payment notification does not verify.", {}),
    "401": (
        "Not signed in, or the access token is not valid.",
        {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}},
    ),
    "403": ("The password is not correct.", {}),
    "404": ("There is nothing with this id (someone else's is not found either).", {}),
    "409": ("The request conflicts with what is stored.", {}),
    "413": ("The request body is larger than this address accepts.", {}),
    "422": ("A value in the request is not valid: the sentence says which.", {}),
    "429": ("Too many attempts: wait Retry-After seconds.", _RETRY_AFTER),
    "500": ("Something went wrong on the service's side.", {}),
    "503": ("The service is busy, or cannot reach its database: retry later.", _RETRY_AFTER),
}
_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def document_errors(app: FastAPI) -> None:
    """Make ``app.openapi()`` list every error response of every operation."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        components = spec.setdefault("components", {}).setdefault("schemas", {})
        problem = schema.Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(problem.pop("$defs", {}))
        components["Problem"] = problem
        for item in spec.get("paths", {}).values():
            for operation in item.values():
                responses = operation.setdefault("responses", {})
                for code, (description, headers) in ERRORS.items():
                    entry = responses.setdefault(code, {"description": description})
                    entry["content"] = {"application/json": {"schema": _PROBLEM_REF}}
                    if headers:
                        entry["headers"] = headers
                if "402" in responses:
                    responses["402"]["content"] = {"application/json": {"schema": _PROBLEM_REF}}
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
