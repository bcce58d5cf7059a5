"""Access tokens (HS256 JWT, short-lived) and opaque refresh tokens (stored as sha256)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from account_api.errors import ApiError

_ALGORITHM = "HS256"
_ISSUER = "kiln-account"


@dataclass(frozen=True)
class AccessClaims:
    user_public_id: str
    family_id: str


def unauthorized(message: str = "Sign in to continue.") -> ApiError:
    return ApiError(401, message, {"WWW-Authenticate": "Bearer"})


def issue_access_token(secret: str, claims: AccessClaims, now: datetime, ttl: timedelta) -> str:
    payload = {
        "iss": _ISSUER,
        "sub": claims.user_public_id,
        "sid": claims.family_id,
        "typ": "access",
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
    }
    return jwt.encode(payload, secret, algorithm=_ALGORITHM)


def read_access_token(secret: str, token: str, now: datetime) -> AccessClaims:
    """The claims of a valid, unexpired access token; a 401 otherwise.

    Expiry is checked against the service's clock (not PyJWT's), so tests can move time.
    """
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            issuer=_ISSUER,
            # Times are checked against the service clock below, not the wall clock.
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "require": ["exp", "sub", "sid", "typ"],
            },
        )
    except jwt.PyJWTError:
        raise unauthorized("Your sign-in is not valid. Sign in again.") from None
    if payload.get("typ") != "access" or not isinstance(payload.get("exp"), int):
        raise unauthorized("Your sign-in is not valid. Sign in again.")
    if payload["exp"] <= now.timestamp():
        raise unauthorized("Your sign-in has expired. Refresh it or sign in again.")
    return AccessClaims(str(payload["sub"]), str(payload["sid"]))


def new_refresh_token() -> tuple[str, str]:
    """A fresh refresh token and the hash to store."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    # 256 random bits: a plain hash is enough (no dictionary to guess from).
    return hashlib.sha256(token.encode()).hexdigest()


def new_id() -> str:
    return secrets.token_hex(16)
