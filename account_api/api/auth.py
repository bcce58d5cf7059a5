"""``/v1/auth/...`` and ``/v1/account``: signup, signin, refresh, signout, deletion."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, Response
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as DbSession

from account_api import credits, guessing
from account_api.context import CallerDep, Services, ServicesDep, caller_row
from account_api.database import lock_user
from account_api.errors import ApiError
from account_api.passwords import check_password_rules, normalise_email
from account_api.ratelimits import count_attempt, rate_key
from account_api.tables import RefreshTokenRow, SessionFamilyRow, UserRow
from account_api.tokens import (
    AccessClaims,
    hash_refresh_token,
    issue_access_token,
    new_id,
    new_refresh_token,
    unauthorized,
)
from studio.account import schema

router = APIRouter(tags=["auth"])
_WRONG_CREDENTIALS = "The email or password is not correct."


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def account_out(user: UserRow) -> schema.Account:
    return schema.Account(
        id=user.public_id,
        email=user.email,
        plan=user.plan_code,
        created_at=user.created_at,
        next_plan=user.next_plan_code,
    )


def _issue(
    services: Services, session: DbSession, user: UserRow, family_id: str, now: datetime
) -> schema.Session:
    """A new refresh token in ``family_id`` and an access token for it."""
    settings = services.settings
    token, token_hash = new_refresh_token()
    session.add(
        RefreshTokenRow(
            family_id=family_id,
            token_hash=token_hash,
            created_at=now,
            expires_at=now + settings.refresh_token_ttl,
            used_at=None,
        )
    )
    access = issue_access_token(
        settings.jwt_secret,
        AccessClaims(user.public_id, family_id),
        now,
        settings.access_token_ttl,
    )
    return schema.Session(
        access_token=access,
        expires_in=int(settings.access_token_ttl.total_seconds()),
        refresh_token=token,
        refresh_expires_in=int(settings.refresh_token_ttl.total_seconds()),
        account=account_out(user),
    )


def _new_family(session: DbSession, user: UserRow, now: datetime) -> str:
    family = SessionFamilyRow(
        id=new_id(), user_id=user.id, created_at=now, revoked_at=None, revoked_reason=None
    )
    session.add(family)
    session.flush()
    return family.id


@router.post("/v1/auth/signup", status_code=201)
def signup(body: schema.SignupRequest, request: Request, services: ServicesDep) -> schema.Session:
    """Create an account (with the sign-up bonus) and sign it in."""
    settings, now = services.settings, services.clock.now()
    email = normalise_email(body.email)
    count_attempt(
        services.db,
        [
            (rate_key("signup-email", email), settings.signup_per_email),
            (rate_key("signup-ip", _client_ip(request)), settings.signup_per_ip),
        ],
        now,
    )
    check_password_rules(body.password, email)
    taken = ApiError(409, "An account with this email already exists. Sign in instead.")
    # Hashed before looking the address up: a taken address costs the same time as a new
    # one, so timing does not tell which addresses have accounts.
    password_hash = services.passwords.hash(body.password)
    with services.db.read() as session:
        if session.scalar(select(UserRow.id).where(UserRow.email == email)) is not None:
            raise taken
    try:
        with services.db.write() as session:
            user = UserRow(
                public_id=new_id(),
                email=email,
                password_hash=password_hash,
                plan_code="free",
                revision=0,
                created_at=now,
            )
            session.add(user)
            session.flush()
            if settings.signup_bonus > 0:
                credits.grant(
                    session, user, "signup_bonus", settings.signup_bonus, "Sign-up bonus", now
                )
            guessing.succeeded(session, guessing.Attempt(email, _client_ip(request)), user.id, now)
            return _issue(services, session, user, _new_family(session, user, now), now)
    except IntegrityError:
        raise taken from None


@router.post("/v1/auth/signin")
def signin(body: schema.SigninRequest, request: Request, services: ServicesDep) -> schema.Session:
    """Sign in. Wrong passwords slow down further tries (see the README's policy)."""
    settings, now = services.settings, services.clock.now()
    try:
        email = normalise_email(body.email)
    except ApiError:
        raise unauthorized(_WRONG_CREDENTIALS) from None
    client = _client_ip(request)
    count_attempt(services.db, [(rate_key("signin-ip", client), settings.signin_per_ip)], now)
    with services.db.read() as session:
        user = session.scalars(select(UserRow).where(UserRow.email == email)).one_or_none()
    attempt = guessing.Attempt(email, client)
    guessing.check(services.db, settings.guessing, attempt, user.id if user else None, now)
    if not services.passwords.verify(user.password_hash if user else None, body.password):
        guessing.failed(services.db, settings.guessing, attempt, now)
        raise unauthorized(_WRONG_CREDENTIALS)
    assert user is not None
    rehash = (
        services.passwords.hash(body.password)
        if services.passwords.needs_rehash(user.password_hash)
        else None
    )
    with services.db.write() as session:
        locked = lock_user(session, user.id)
        if locked is None:
            raise unauthorized(_WRONG_CREDENTIALS)
        if rehash is not None:
            locked.password_hash = rehash
        guessing.succeeded(session, attempt, locked.id, now)
        return _issue(services, session, locked, _new_family(session, locked, now), now)


@router.post("/v1/auth/refresh")
def refresh(body: schema.RefreshRequest, services: ServicesDep) -> schema.Session:
    """Swap a refresh token for a new pair. A token used twice signs its session out."""
    now = services.clock.now()
    token_hash = hash_refresh_token(body.refresh_token)
    failure: str | None = None
    with services.db.write() as session:
        row = session.execute(
            select(RefreshTokenRow, SessionFamilyRow)
            .join(SessionFamilyRow, SessionFamilyRow.id == RefreshTokenRow.family_id)
            .where(RefreshTokenRow.token_hash == token_hash)
        ).one_or_none()
        if row is None:
            raise unauthorized("This sign-in is not valid. Sign in again.")
        token, family = row
        if family.revoked_at is not None:
            raise unauthorized("You were signed out. Sign in again.")
        # Mark it used only if nobody did first: two refreshes with one token never both win.
        claimed = session.execute(
            update(RefreshTokenRow)
            .where(RefreshTokenRow.id == token.id, RefreshTokenRow.used_at.is_(None))
            .values(used_at=now)
            .returning(RefreshTokenRow.id)
        ).first()
        if claimed is None:
            family.revoked_at = now
            family.revoked_reason = "refresh_token_reused"
            failure = (
                "This sign-in was used twice, so it was signed out everywhere "
                "for your safety. Sign in again."
            )
        elif token.expires_at <= now:
            failure = "Your sign-in has expired. Sign in again."
        else:
            user = session.get_one(UserRow, family.user_id)
            return _issue(services, session, user, family.id, now)
    raise unauthorized(failure)


@router.post("/v1/auth/signout", status_code=204)
def signout(body: schema.SignoutRequest, services: ServicesDep) -> Response:
    """End the session of this refresh token (and every token rotated from it)."""
    now = services.clock.now()
    with services.db.write() as session:
        family = session.scalars(
            select(SessionFamilyRow)
            .join(RefreshTokenRow, RefreshTokenRow.family_id == SessionFamilyRow.id)
            .where(RefreshTokenRow.token_hash == hash_refresh_token(body.refresh_token))
        ).one_or_none()
        if family is not None and family.revoked_at is None:
            family.revoked_at = now
            family.revoked_reason = "signed_out"
    return Response(status_code=204)


@router.get("/v1/account", tags=["account"])
def get_account(caller: CallerDep, services: ServicesDep) -> schema.Account:
    with services.db.read() as session:
        return account_out(caller_row(session, caller))


@router.delete("/v1/account", status_code=204, tags=["account"])
def delete_account(
    body: schema.DeleteAccountRequest,
    request: Request,
    caller: CallerDep,
    services: ServicesDep,
) -> Response:
    """Delete the account, every row that belongs to it, and its files.

    The password is checked like a sign-in's: wrong ones count, and slow down, the same.
    """
    now = services.clock.now()
    with services.db.read() as session:
        row = session.execute(
            select(UserRow.password_hash, UserRow.email).where(UserRow.id == caller.user_id)
        ).one_or_none()
    if row is None:
        raise unauthorized("This account no longer exists.")
    attempt = guessing.Attempt(row.email, _client_ip(request))
    guessing.check(services.db, services.settings.guessing, attempt, caller.user_id, now)
    if not services.passwords.verify(row.password_hash, body.password):
        guessing.failed(services.db, services.settings.guessing, attempt, now)
        raise ApiError(403, "The password is not correct.")
    with services.db.write() as session:
        if lock_user(session, caller.user_id) is not None:
            # ON DELETE CASCADE removes sessions, credits, holds, ledger, models, blobs rows.
            session.execute(delete(UserRow).where(UserRow.id == caller.user_id))
    # Rows first, files second: a crash in between leaves unreferenced files, never
    # rows pointing at missing ones.
    services.blobs.delete_owner(caller.public_id)
    return Response(status_code=204)
