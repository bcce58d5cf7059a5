"""Credits: buckets, holds and the append-only ledger.

The rules
---------
* Credits live in buckets (``signup_bonus``, ``subscription``, ``topup``). A hold takes its
  amount from buckets at once, subscription first, then the one-time packs oldest first;
  a pack that reaches 0 is ``spent``. Releasing a hold gives each part back to its bucket
  (a spent pack comes back to life; a subscription period that has ended writes it off).
* Capturing charges exactly what was held. Capture and release are idempotent; one after the
  other is a 409. A hold neither captured nor released by ``expires_at`` releases itself
  (state ``expired``) the next time anything reads or changes that user's credits.
* Every change writes ledger rows with the change of ``available`` (``amount``) and of
  ``on_hold``, so both balances are always the sums of the ledger.

Every function here runs inside :meth:`Database.write` after :func:`lock_user`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from account_api.errors import ApiError, not_found
from account_api.tables import (
    BucketRow,
    HoldAllocationRow,
    HoldRow,
    LedgerRow,
    PlanRow,
    PriceRow,
    UserRow,
)
from account_api.tokens import new_id
from studio.account import schema

LEDGER_PAGE_MAX = 1000
#: The plan every account starts on, and the one a cancelled plan moves to.
FREE_PLAN = "free"


def _ledger(
    session: Session,
    user: UserRow,
    now: datetime,
    kind: str,
    amount: int,
    reason: str,
    *,
    on_hold_change: int = 0,
    bucket_id: int | None = None,
    hold_id: str | None = None,
) -> None:
    session.add(
        LedgerRow(
            user_id=user.id,
            created_at=now,
            kind=kind,
            amount=amount,
            on_hold_change=on_hold_change,
            bucket_id=bucket_id,
            hold_id=hold_id,
            reason=reason,
        )
    )


# --- buckets ---------------------------------------------------------------------------------


def grant(
    session: Session, user: UserRow, kind: str, amount: int, reason: str, now: datetime
) -> BucketRow:
    """A new bucket of ``amount`` credits, with its ledger row."""
    bucket = BucketRow(
        user_id=user.id,
        kind=kind,
        granted=amount,
        remaining=amount,
        state="active",
        reason=reason,
        created_at=now,
    )
    session.add(bucket)
    session.flush()
    _ledger(session, user, now, "grant", amount, reason, bucket_id=bucket.id)
    return bucket


def end_subscription_period(session: Session, user: UserRow, now: datetime, why: str) -> None:
    """Write off what is left of the current subscription bucket and close it."""
    for bucket in session.scalars(
        select(BucketRow).where(
            BucketRow.user_id == user.id,
            BucketRow.kind == "subscription",
            BucketRow.state == "active",
        )
    ):
        if bucket.remaining:
            _ledger(
                session,
                user,
                now,
                "write_off",
                -bucket.remaining,
                f"Unused subscription credits written off: {why}",
                bucket_id=bucket.id,
            )
            bucket.remaining = 0
        bucket.state = "ended"


def start_period(session: Session, user: UserRow, now: datetime) -> None:
    """A new monthly period: take the scheduled plan (a cancelled one moves to free), then
    refill."""
    if user.next_plan_code is not None and session.get(PlanRow, user.next_plan_code) is not None:
        user.plan_code = user.next_plan_code
    user.next_plan_code = None
    refill_subscription(session, user, now, "the monthly period ended")


def refill_subscription(session: Session, user: UserRow, now: datetime, why: str) -> None:
    """End the current period and grant the plan's monthly credits."""
    plan = session.get_one(PlanRow, user.plan_code)
    end_subscription_period(session, user, now, why)
    if plan.monthly_credits > 0:
        grant(
            session,
            user,
            "subscription",
            plan.monthly_credits,
            f"{plan.name} plan: {plan.monthly_credits} monthly credits",
            now,
        )


def change_plan(session: Session, user: UserRow, code: str, now: datetime) -> PlanRow:
    """Switch plan and grant the new plan's subscription bucket (same plan: no change).

    Only the payment provider's signed notification and the operator's command call this:
    no route lets a designer pick a paid plan without paying.
    """
    plan = session.get(PlanRow, code)
    if plan is None:
        raise ApiError(422, f"There is no plan called {code!r}.")
    user.next_plan_code = None
    if plan.code != user.plan_code:
        user.plan_code = plan.code
        refill_subscription(session, user, now, f"changed to the {plan.name} plan")
    return plan


def _active_buckets(session: Session, user: UserRow) -> list[BucketRow]:
    """The buckets with credits, in spending order: subscription, then packs oldest first."""
    buckets = session.scalars(
        select(BucketRow).where(BucketRow.user_id == user.id, BucketRow.state == "active")
    ).all()
    return sorted(buckets, key=lambda b: (b.kind != "subscription", b.created_at, b.id))


def balance(session: Session, user: UserRow, now: datetime) -> schema.Balance:
    expire_due_holds(session, user, now)
    buckets = _active_buckets(session, user)
    on_hold = session.scalar(
        select(func.coalesce(func.sum(HoldRow.amount), 0)).where(
            HoldRow.user_id == user.id, HoldRow.state == "held"
        )
    )
    return schema.Balance(
        available=sum(b.remaining for b in buckets),
        on_hold=int(on_hold or 0),
        plan=user.plan_code,
        buckets=[bucket_out(b) for b in buckets],
    )


def bucket_out(bucket: BucketRow) -> schema.Bucket:
    return schema.Bucket(
        id=bucket.id,
        kind=bucket.kind,
        granted=bucket.granted,
        remaining=bucket.remaining,
        state=bucket.state,
        reason=bucket.reason,
        created_at=bucket.created_at,
    )


# --- holds -----------------------------------------------------------------------------------


def price_of(session: Session, kind: str, quality: str) -> int:
    prices = session.scalars(select(PriceRow).where(PriceRow.kind == kind)).all()
    exact = [p for p in prices if p.quality == quality]
    any_quality = [p for p in prices if p.quality is None]
    for price in exact or any_quality:
        return price.credits
    raise ApiError(422, f"There is no price for {kind} generations at {quality} quality.")


def hold_out(hold: HoldRow) -> schema.Hold:
    return schema.Hold(
        id=hold.id,
        idempotency_key=hold.idempotency_key,
        amount=hold.amount,
        kind=hold.kind,
        quality=hold.quality,
        state=hold.state,
        created_at=hold.created_at,
        expires_at=hold.expires_at,
        settled_at=hold.settled_at,
    )


def create_hold(
    session: Session, user: UserRow, request: schema.HoldRequest, ttl: timedelta, now: datetime
) -> tuple[HoldRow, bool]:
    """The hold for this idempotency key: the existing one, or a new one (True)."""
    expire_due_holds(session, user, now)
    existing = session.scalars(
        select(HoldRow).where(
            HoldRow.user_id == user.id, HoldRow.idempotency_key == request.idempotency_key
        )
    ).one_or_none()
    if existing is not None:
        if not _same_request(existing, request):
            raise ApiError(
                409,
                "This idempotency key was already used for a different hold "
                f"({existing.amount} credits): use a new key for a new generation.",
            )
        return existing, False
    kind: str | None = request.kind
    quality: str | None = request.quality if kind is not None else None
    if request.amount is not None:
        amount = request.amount
    elif request.kind is not None:
        amount = price_of(session, request.kind, request.quality)
    else:
        raise ApiError(422, "Give either the generation kind (and quality) or an amount.")
    buckets = _active_buckets(session, user)
    have = sum(b.remaining for b in buckets)
    if have < amount:
        raise ApiError(
            402,
            schema.InsufficientCredits(
                need=amount, have=have, message=f"Needs {amount} credits, you have {have}."
            ).model_dump(),
        )
    what = f"{kind.replace('_', '-')} generation ({quality})" if kind else "a generation"
    hold = HoldRow(
        id=new_id(),
        user_id=user.id,
        idempotency_key=request.idempotency_key,
        amount=amount,
        kind=kind,
        quality=quality,
        state="held",
        created_at=now,
        expires_at=now + ttl,
        settled_at=None,
    )
    session.add(hold)
    session.flush()
    left = amount
    for bucket in buckets:
        if left == 0:
            break
        take = min(bucket.remaining, left)
        if take == 0:
            continue
        left -= take
        bucket.remaining -= take
        if bucket.remaining == 0 and bucket.kind != "subscription":
            bucket.state = "spent"
        session.add(HoldAllocationRow(hold_id=hold.id, bucket_id=bucket.id, amount=take))
        _ledger(
            session,
            user,
            now,
            "hold",
            -take,
            f"Held for {what}",
            on_hold_change=take,
            bucket_id=bucket.id,
            hold_id=hold.id,
        )
    return hold, True


def _same_request(hold: HoldRow, request: schema.HoldRequest) -> bool:
    """Whether ``request`` asks for what ``hold`` was made for (its kind and quality, and
    its amount when the request names one)."""
    if request.kind != hold.kind:
        return False
    if request.kind is not None and request.quality != hold.quality:
        return False
    return request.amount is None or request.amount == hold.amount


def find_hold(session: Session, user: UserRow, hold_id: str) -> HoldRow:
    hold = session.scalars(
        select(HoldRow).where(HoldRow.id == hold_id, HoldRow.user_id == user.id)
    ).one_or_none()
    if hold is None:
        raise not_found("hold")
    return hold


def _allocations(session: Session, hold: HoldRow) -> Sequence[HoldAllocationRow]:
    return session.scalars(
        select(HoldAllocationRow)
        .where(HoldAllocationRow.hold_id == hold.id)
        .order_by(HoldAllocationRow.bucket_id)
    ).all()


def capture_hold(session: Session, user: UserRow, hold_id: str, now: datetime) -> HoldRow:
    hold = find_hold(session, user, hold_id)
    expire_due_holds(session, user, now)
    if hold.state == "captured":
        return hold
    if hold.state == "released":
        raise ApiError(409, "This hold was released, so it can no longer be charged.")
    if hold.state == "expired":
        raise ApiError(
            409, "This hold expired and its credits were given back, so it cannot be charged."
        )
    for part in _allocations(session, hold):
        _ledger(
            session,
            user,
            now,
            "capture",
            0,
            "Charged for a finished generation",
            on_hold_change=-part.amount,
            bucket_id=part.bucket_id,
            hold_id=hold.id,
        )
    hold.state = "captured"
    hold.settled_at = now
    return hold


def release_hold(session: Session, user: UserRow, hold_id: str, now: datetime) -> HoldRow:
    hold = find_hold(session, user, hold_id)
    expire_due_holds(session, user, now)
    if hold.state in ("released", "expired"):
        return hold
    if hold.state == "captured":
        raise ApiError(409, "This hold was already charged, so it cannot be released.")
    _give_back(
        session, user, hold, "released", "release", "Released: the generation did not run", now
    )
    return hold


def _give_back(
    session: Session,
    user: UserRow,
    hold: HoldRow,
    state: str,
    kind: str,
    reason: str,
    now: datetime,
) -> None:
    for part in _allocations(session, hold):
        bucket = session.get_one(BucketRow, part.bucket_id)
        bucket.remaining += part.amount
        _ledger(
            session,
            user,
            now,
            kind,
            part.amount,
            reason,
            on_hold_change=-part.amount,
            bucket_id=bucket.id,
            hold_id=hold.id,
        )
        if bucket.state == "spent":
            bucket.state = "active"
        elif bucket.state == "ended":
            _ledger(
                session,
                user,
                now,
                "write_off",
                -part.amount,
                "Released subscription credits of a past period written off",
                bucket_id=bucket.id,
                hold_id=hold.id,
            )
            bucket.remaining -= part.amount
    hold.state = state
    hold.settled_at = now


def expire_due_holds(session: Session, user: UserRow, now: datetime) -> int:
    """Release every hold of this user past its ``expires_at``; how many."""
    due = session.scalars(
        select(HoldRow)
        .where(HoldRow.user_id == user.id, HoldRow.state == "held", HoldRow.expires_at <= now)
        .order_by(HoldRow.created_at, HoldRow.id)
    ).all()
    for hold in due:
        _give_back(
            session, user, hold, "expired", "expire", "Released: the hold expired unused", now
        )
    return len(due)


def ledger_page(
    session: Session, user: UserRow, before: int | None, limit: int
) -> schema.LedgerPage:
    query = select(LedgerRow).where(LedgerRow.user_id == user.id)
    if before is not None:
        query = query.where(LedgerRow.id < before)
    rows = session.scalars(query.order_by(LedgerRow.id.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return schema.LedgerPage(
        entries=[
            schema.LedgerEntry(
                id=row.id,
                created_at=row.created_at,
                kind=row.kind,
                amount=row.amount,
                on_hold_change=row.on_hold_change,
                bucket_id=row.bucket_id,
                hold_id=row.hold_id,
                reason=row.reason,
            )
            for row in rows
        ],
        next_before=rows[-1].id if more and rows else None,
    )
