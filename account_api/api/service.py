"""``/health`` and ``/v1/webhooks/payments``."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from account_api import payments
from account_api.context import ServicesDep
from account_api.errors import ApiError
from studio.account import schema

router = APIRouter()


@router.get(
    "/health",
    tags=["service"],
    responses={503: {"description": "The database is not reachable."}},
)
def health(services: ServicesDep) -> schema.Health:
    try:
        services.db.ping()
    except Exception:
        raise ApiError(503, "The database is not reachable.") from None
    return schema.Health(status="ok")


@router.post(
    "/v1/webhooks/payments",
    tags=["payments"],
    responses={400: {"description": "The Stripe-Signature header does not verify."}},
    openapi_extra={
        "parameters": [
            {
                "name": "Stripe-Signature",
                "in": "header",
                "required": True,
                "description": "t=<unix time>,v1=<hex HMAC-SHA256 of '<t>.<raw body>'>",
                "schema": {"type": "string"},
            }
        ],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": schema.PaymentEvent.model_json_schema()}},
        },
    },
)
async def payment_webhook(request: Request, services: ServicesDep) -> JSONResponse:
    """Apply a purchase or a subscription change, once per event id (see
    :func:`account_api.payments.apply_event`).

    The body is signed like Stripe's: ``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
    "<t>.<raw body>">``, accepted within 5 minutes.
    """
    secret = services.settings.webhook_secret
    if not secret:
        raise ApiError(503, "Payments are not set up on this service.")
    body = await request.body()
    payments.verify_signature(
        secret,
        request.headers.get("stripe-signature"),
        body,
        services.clock.now(),
        services.settings.webhook_tolerance,
    )
    try:
        event = schema.PaymentEvent.model_validate(json.loads(body))
    except (ValueError, ValidationError):
        raise ApiError(400, "The payment notification is not a valid event.") from None
    result = await run_in_threadpool(payments.apply_event, services.db, event, services.clock.now())
    return JSONResponse(result.model_dump())
