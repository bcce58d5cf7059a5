"""Plans, prices, balance, holds and the ledger."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import select

from account_api import credits
from account_api.api.auth import account_out
from account_api.context import CallerDep, ServicesDep, locked_caller
from account_api.credits import FREE_PLAN
from account_api.errors import ApiError
from account_api.tables import BucketRow, PlanRow, PriceRow
from studio.account import schema

HoldId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$", description="The hold's id.")]

router = APIRouter(tags=["credits"])


@router.get("/v1/plans")
def list_plans(services: ServicesDep) -> list[schema.Plan]:
    with services.db.read() as session:
        rows = session.scalars(select(PlanRow).order_by(PlanRow.position)).all()
        return [
            schema.Plan(code=p.code, name=p.name, monthly_credits=p.monthly_credits) for p in rows
        ]


@router.post("/v1/account/plan/checkout", tags=["account"])
def plan_checkout(
    body: schema.CheckoutRequest, caller: CallerDep, services: ServicesDep
) -> schema.Checkout:
    """The payment page for a paid plan. Nothing changes here: the plan changes when the
    payment provider's signed ``subscription.updated`` notification arrives."""
    with services.db.read() as session:
        plan = session.get(PlanRow, body.plan)
    if plan is None:
        raise ApiError(422, f"There is no plan called {body.plan!r}.")
    if plan.monthly_credits == 0:
        raise ApiError(
            422,
            f"The {plan.name} plan needs no payment: cancel your plan instead, "
            "and it ends with the current period.",
        )
    template = services.settings.checkout_url
    if template is None:
        raise ApiError(503, "Paid plans are not on sale on this service yet.")
    url = template.format(plan=quote(plan.code, safe=""), account=quote(caller.public_id, safe=""))
    return schema.Checkout(plan=plan.code, url=url)


@router.post("/v1/account/plan/cancel", tags=["account"])
def cancel_plan(caller: CallerDep, services: ServicesDep) -> schema.Account:
    """Move to the free plan when the current period ends: no refill, and the credits of
    this period stay until then. On the free plan already: no change."""
    with services.db.write() as session:
        user = locked_caller(session, caller)
        if user.plan_code != FREE_PLAN:
            user.next_plan_code = FREE_PLAN
        return account_out(user)


@router.get("/v1/pricing")
def list_prices(services: ServicesDep) -> list[schema.Price]:
    with services.db.read() as session:
        rows = session.scalars(select(PriceRow).order_by(PriceRow.id)).all()
        return [schema.Price(kind=p.kind, quality=p.quality, credits=p.credits) for p in rows]


@router.get("/v1/balance")
def get_balance(caller: CallerDep, services: ServicesDep) -> schema.Balance:
    now = services.clock.now()
    with services.db.write() as session:
        return credits.balance(session, locked_caller(session, caller), now)


@router.get("/v1/buckets")
def list_buckets(caller: CallerDep, services: ServicesDep) -> list[schema.Bucket]:
    """Every bucket the account ever had (spent and ended ones too), oldest first."""
    with services.db.read() as session:
        rows = session.scalars(
            select(BucketRow).where(BucketRow.user_id == caller.user_id).order_by(BucketRow.id)
        ).all()
        return [credits.bucket_out(b) for b in rows]


@router.post(
    "/v1/holds",
    status_code=201,
    responses={
        200: {"description": "A hold with this key already existed.", "model": schema.Hold},
        409: {"description": "This idempotency key was used with other parameters."},
        402: {"description": "Not enough credits: detail is InsufficientCredits."},
    },
)
def create_hold(
    body: schema.HoldRequest, caller: CallerDep, services: ServicesDep, response: Response
) -> schema.Hold:
    """Hold credits before a generation; the same idempotency key returns the same hold."""
    now = services.clock.now()
    with services.db.write() as session:
        user = locked_caller(session, caller)
        hold, created = credits.create_hold(session, user, body, services.settings.hold_ttl, now)
        if not created:
            response.status_code = 200
        return credits.hold_out(hold)


@router.get("/v1/holds/{hold_id}")
def get_hold(hold_id: HoldId, caller: CallerDep, services: ServicesDep) -> schema.Hold:
    now = services.clock.now()
    with services.db.write() as session:
        user = locked_caller(session, caller)
        credits.expire_due_holds(session, user, now)
        return credits.hold_out(credits.find_hold(session, user, hold_id))


@router.post("/v1/holds/{hold_id}/capture")
def capture_hold(hold_id: HoldId, caller: CallerDep, services: ServicesDep) -> schema.Hold:
    """Charge the held amount (again: no change). A released or expired hold is a 409."""
    now = services.clock.now()
    with services.db.write() as session:
        user = locked_caller(session, caller)
        return credits.hold_out(credits.capture_hold(session, user, hold_id, now))


@router.post("/v1/holds/{hold_id}/release")
def release_hold(hold_id: HoldId, caller: CallerDep, services: ServicesDep) -> schema.Hold:
    """Give the credits back (again: no change). A captured hold is a 409."""
    now = services.clock.now()
    with services.db.write() as session:
        user = locked_caller(session, caller)
        return credits.hold_out(credits.release_hold(session, user, hold_id, now))


@router.get("/v1/ledger")
def get_ledger(
    caller: CallerDep,
    services: ServicesDep,
    before: Annotated[
        int | None, Query(ge=1, le=schema.INT64_MAX, description="Entries with an id below this.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=credits.LEDGER_PAGE_MAX)] = 100,
) -> schema.LedgerPage:
    now = services.clock.now()
    with services.db.write() as session:
        user = locked_caller(session, caller)
        credits.expire_due_holds(session, user, now)
        return credits.ledger_page(session, user, before, limit)
