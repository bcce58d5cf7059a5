"""What every request handler gets: the services of this instance and the signed-in caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from account_api.blobs import BlobStore
from account_api.clock import Clock
from account_api.database import Database, lock_user
from account_api.passwords import Passwords
from account_api.settings import Settings
from account_api.tables import SessionFamilyRow, UserRow
from account_api.tokens import read_access_token, unauthorized


@dataclass(frozen=True)
class Services:
    """One instance's connections; nothing in here is state that matters across instances."""

    settings: Settings
    db: Database
    blobs: BlobStore
    clock: Clock
    passwords: Passwords


@dataclass(frozen=True)
class Caller:
    """The signed-in user of a request."""

    user_id: int
    public_id: str
    family_id: str


def get_services(request: Request) -> Services:
    return cast(Services, request.app.state.services)


ServicesDep = Annotated[Services, Depends(get_services)]
_bearer = HTTPBearer(auto_error=False, description="The access token from signin or refresh.")


def get_caller(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """The caller of a valid access token whose account and session still exist."""
    if credentials is None:
        raise unauthorized()
    claims = read_access_token(
        services.settings.jwt_secret, credentials.credentials, services.clock.now()
    )
    with services.db.read() as session:
        row = session.execute(
            select(UserRow.id, SessionFamilyRow.revoked_at)
            .join(SessionFamilyRow, SessionFamilyRow.user_id == UserRow.id)
            .where(UserRow.public_id == claims.user_public_id)
            .where(SessionFamilyRow.id == claims.family_id)
        ).one_or_none()
    if row is None or row.revoked_at is not None:
        raise unauthorized("You were signed out. Sign in again.")
    return Caller(row.id, claims.user_public_id, claims.family_id)


CallerDep = Annotated[Caller, Depends(get_caller)]


def locked_caller(session: Session, caller: Caller) -> UserRow:
    """The caller's row, locked for this write transaction (see :func:`lock_user`)."""
    user = lock_user(session, caller.user_id)
    if user is None:
        raise unauthorized("This account no longer exists.")
    return user


def caller_row(session: Session, caller: Caller) -> UserRow:
    """The caller's row, for reading."""
    user = session.get(UserRow, caller.user_id)
    if user is None:
        raise unauthorized("This account no longer exists.")
    return user
