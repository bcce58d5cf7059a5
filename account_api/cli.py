"""``python -m account_api <command>``: serve, migrate, and the operator's jobs.

* ``serve [--host 127.0.0.1] [--port 8700]``: migrate, sweep, then run the service (uvicorn);
* ``migrate``: bring the database to the newest schema;
* ``reset-monthly``: start every user's new monthly period: a cancelled plan moves to free,
  then the subscription bucket is refilled to the plan's amount (the unused rest of the
  last period is written off); run it monthly from a scheduler;
* ``expire-holds``: release every hold past its expiry (also done lazily per user);
* ``grant EMAIL N --reason "..."``: add a top-up of N credits;
* ``set-plan EMAIL PLAN``: put an account on a plan now (support, or a payment the webhook
  missed); a new plan grants its monthly credits;
* ``sweep [--grace-seconds N]``: remove unfinished uploads and unreferenced blobs older
  than the grace period (default ``KILN_ACCOUNT_UPLOAD_GRACE_SECONDS``).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from account_api import credits
from account_api.clock import Clock, SystemClock
from account_api.database import Database, lock_user
from account_api.errors import AccountError, ApiError
from account_api.passwords import normalise_email
from account_api.settings import Settings
from account_api.sweep import sweep
from account_api.tables import HoldRow, UserRow

log = logging.getLogger("account_api")
#: One grant fits a credit bucket's 32-bit column with room to spare (as a purchase does).
MAX_GRANT = 10_000_000


def reset_monthly(db: Database, clock: Clock) -> int:
    """Refill every user's subscription bucket; how many users."""
    with db.read() as session:
        user_ids = list(session.scalars(select(UserRow.id).order_by(UserRow.id)))
    done = 0
    for user_id in user_ids:  # one short transaction per user
        with db.write() as session:
            user = lock_user(session, user_id)
            if user is None:
                continue
            now = clock.now()
            credits.expire_due_holds(session, user, now)
            credits.start_period(session, user, now)
            done += 1
    return done


def expire_holds(db: Database, clock: Clock) -> int:
    """Release every overdue hold of every user; how many holds."""
    now = clock.now()
    with db.read() as session:
        user_ids = list(
            session.scalars(
                select(HoldRow.user_id)
                .where(HoldRow.state == "held", HoldRow.expires_at <= now)
                .distinct()
            )
        )
    released = 0
    for user_id in user_ids:
        with db.write() as session:
            user = lock_user(session, user_id)
            if user is not None:
                released += credits.expire_due_holds(session, user, clock.now())
    return released


def grant_credits(db: Database, clock: Clock, email: str, amount: int, reason: str) -> int:
    """Add a top-up bucket; the user's new available balance."""
    if amount <= 0:
        raise ApiError(422, "The number of credits must be greater than zero.")
    if amount > MAX_GRANT:
        raise ApiError(422, f"Grant at most {MAX_GRANT:,} credits at a time.")
    address = normalise_email(email)
    with db.write() as session:
        user_id = session.scalar(select(UserRow.id).where(UserRow.email == address))
        user = lock_user(session, user_id) if user_id is not None else None
        if user is None:
            raise ApiError(404, f"There is no account for {address}.")
        now = clock.now()
        credits.grant(session, user, "topup", amount, reason, now)
        return credits.balance(session, user, now).available


def set_plan(db: Database, clock: Clock, email: str, code: str) -> str:
    """Put the account on plan ``code`` now; the plan's name."""
    address = normalise_email(email)
    with db.write() as session:
        user_id = session.scalar(select(UserRow.id).where(UserRow.email == address))
        user = lock_user(session, user_id) if user_id is not None else None
        if user is None:
            raise ApiError(404, f"There is no account for {address}.")
        return credits.change_plan(session, user, code, clock.now()).name


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """How ``serve`` runs uvicorn: X-Forwarded-For only from the configured proxies, and
    the service's own access log (no query strings) instead of uvicorn's."""
    return {
        "proxy_headers": settings.forwarded_allow_ips is not None,
        "forwarded_allow_ips": settings.forwarded_allow_ips or "",
        "server_header": False,
        "access_log": False,
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m account_api",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="migrate, then run the service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8700)
    commands.add_parser("migrate", help="bring the database to the newest schema")
    commands.add_parser("reset-monthly", help="refill every subscription bucket")
    commands.add_parser("expire-holds", help="release every overdue hold")
    grant = commands.add_parser("grant", help="add a top-up of credits to an account")
    grant.add_argument("email")
    grant.add_argument("credits", type=int)
    grant.add_argument("--reason", required=True)
    plan = commands.add_parser("set-plan", help="put an account on a plan now")
    plan.add_argument("email")
    plan.add_argument("plan")
    sweep_ = commands.add_parser("sweep", help="remove unfinished uploads and orphan blobs")
    sweep_.add_argument("--grace-seconds", type=int, default=None)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = Settings.from_env()
        db = Database(settings.database_url)
        try:
            return _run(args, settings, db)
        finally:
            db.dispose()
    except AccountError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace, settings: Settings, db: Database) -> int:
    clock = SystemClock()
    if args.command == "migrate":
        db.migrate()
        print("The database schema is current.")
        return 0
    if args.command == "serve":
        import uvicorn

        from account_api.app import create_app

        db.migrate()
        app = create_app(settings, db=db, clock=clock)
        sweep(settings, db, app.state.services.blobs)
        uvicorn.run(app, host=args.host, port=args.port, **uvicorn_options(settings))
        return 0
    if args.command == "sweep":
        from account_api.blobs import open_blob_store

        grace = None if args.grace_seconds is None else timedelta(seconds=args.grace_seconds)
        print(sweep(settings, db, open_blob_store(settings), grace=grace).summary)
        return 0
    if args.command == "set-plan":
        name = set_plan(db, clock, args.email, args.plan)
        print(f"{args.email} is on the {name} plan now.")
        return 0
    if args.command == "reset-monthly":
        print(f"Refilled the subscription credits of {reset_monthly(db, clock)} accounts.")
        return 0
    if args.command == "expire-holds":
        print(f"Released {expire_holds(db, clock)} expired holds.")
        return 0
    if args.command == "grant":
        available = grant_credits(db, clock, args.email, args.credits, args.reason)
        print(f"Granted {args.credits} credits; {args.email} now has {available} available.")
        return 0
    raise AssertionError(args.command)
