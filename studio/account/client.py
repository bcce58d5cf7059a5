"""The desktop client of the Kiln account service (``/v1/...``).

Signed-in calls carry a short-lived access token. When the service answers 401 the client
refreshes once (the refresh token rotates: the new one is stored before it is used, and
only one refresh runs at a time) and repeats the call once. A refresh the service refuses
means the designer is signed out: the tokens are forgotten and :class:`SignedOutError`
is raised.

No token or password ever goes into an exception message or a log line.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Generator
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from studio.account import schema
from studio.account.session import TokenStore
from studio.errors import KilnError

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

UNREACHABLE = (
    "Kiln Studio can't reach the account service. Check your internet connection and try again."
)
SIGNED_OUT = "You are signed out. Sign in again to use your Kiln credits."
SERVICE_TROUBLE = "The account service is having trouble right now. Try again in a moment."
ODD_ANSWER = "The account service sent an answer Kiln Studio does not understand."


class AccountError(KilnError):
    """The account service refused a request; ``status`` is its HTTP status."""

    def __init__(self, message: str, *, status: int, detail: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


class SignedOutError(KilnError):
    """There is no usable sign-in (never signed in, signed out, or the session ended)."""

    def __init__(self, message: str = SIGNED_OUT) -> None:
        super().__init__(message)


class NotEnoughCreditsError(KilnError):
    """A hold asked for more credits than the account has available."""

    def __init__(self, need: int, have: int) -> None:
        super().__init__(f"Needs {need} credits, you have {have}.")
        self.need = need
        self.have = have


def _detail(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("detail") if isinstance(body, dict) else None


def _sentence(detail: Any) -> str | None:
    if isinstance(detail, str) and detail.strip():
        return detail.strip()
    if isinstance(detail, dict) and isinstance(detail.get("message"), str):
        return str(detail["message"])
    return None


def raise_for_problem(response: httpx.Response) -> None:
    """Turn a non-2xx answer into a plain :class:`KilnError` (``AccountError``)."""
    if response.is_success:
        return
    status = response.status_code
    detail = _detail(response)
    if status >= 500:
        raise AccountError(_sentence(detail) or SERVICE_TROUBLE, status=status, detail=detail)
    raise AccountError(
        _sentence(detail) or f"The account service refused the request (HTTP {status}).",
        status=status,
        detail=detail,
    )


def is_web_page(url: str) -> bool:
    """``https://host/...``, or ``http://`` to this computer: what a browser may be sent to."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return False
    if not parsed.host:
        return False
    if parsed.scheme == "https":
        return True
    return parsed.scheme == "http" and parsed.host in ("127.0.0.1", "localhost", "::1")


def _parse(model: type[M], response: httpx.Response) -> M:
    try:
        return model.model_validate(response.json())
    except (ValueError, ValidationError):
        raise KilnError(ODD_ANSWER) from None


class AccountClient:
    """Talks to the account service at ``base_url`` for the account in ``tokens``."""

    def __init__(self, base_url: str, *, client: httpx.Client, tokens: TokenStore) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = client
        self.tokens = tokens
        self._refresh_lock = threading.Lock()

    # ------------------------------------------------------------------ plumbing
    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        auth: httpx.Auth | None = None,
    ) -> httpx.Response:
        try:
            return self._http.request(
                method,
                self._url(path),
                json=json,
                params=params,
                content=content,
                headers=headers,
                auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except httpx.TransportError as exc:
            log.info("account service unreachable: %s %s (%s)", method, path, type(exc).__name__)
            raise KilnError(UNREACHABLE) from None

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """A signed-in request; refreshes once on 401 and repeats it once.

        The answer is returned whatever its status (but 401): check it with
        :func:`raise_for_problem` or read its structured ``detail``.
        """
        response = self._send(
            method,
            path,
            json=json,
            params=params,
            content=content,
            headers=headers,
            auth=self.auth(),
        )
        if response.status_code == 401:  # refused even with a freshly refreshed token
            self.tokens.clear()
            raise SignedOutError()
        return response

    def _call(self, model: type[M], method: str, path: str, **kwargs: Any) -> M:
        response = self.request(method, path, **kwargs)
        raise_for_problem(response)
        return _parse(model, response)

    def _refresh(self, stale_access: str | None) -> str:
        """A fresh access token. One refresh at a time: a caller that waited for another's
        refresh uses its result instead of spending the (single-use) refresh token again."""
        with self._refresh_lock:
            current = self.tokens.access_token
            if current is not None and current != stale_access:
                return current
            refresh_token = self.tokens.refresh_token
            if refresh_token is None:
                raise SignedOutError()
            response = self._send("POST", "/v1/auth/refresh", json={"refresh_token": refresh_token})
            if response.status_code in (400, 401, 403, 422):
                log.info("the account session ended (HTTP %s); signed out", response.status_code)
                self.tokens.clear()
                raise SignedOutError()
            raise_for_problem(response)
            session = _parse(schema.Session, response)
            self.tokens.save(session)  # the new refresh token is stored before it is used
            return session.access_token

    def auth(self) -> httpx.Auth:
        """An ``httpx.Auth`` carrying this sign-in: the bearer token on every request and
        the same single refresh on a 401, for other clients of the service (sync)."""
        return _BearerAuth(self)

    # ------------------------------------------------------------------ auth
    def _start_session(self, path: str, email: str, password: str) -> schema.Session:
        response = self._send("POST", path, json={"email": email, "password": password})
        raise_for_problem(response)
        session = _parse(schema.Session, response)
        self.tokens.save(session)
        return session

    def signup(self, email: str, password: str) -> schema.Account:
        """Create an account (with its sign-up bonus) and sign in to it."""
        return self._start_session("/v1/auth/signup", email, password).account

    def signin(self, email: str, password: str) -> schema.Account:
        return self._start_session("/v1/auth/signin", email, password).account

    def signout(self) -> None:
        """End the session on the service and forget it here (even when offline)."""
        refresh_token = self.tokens.refresh_token
        try:
            if refresh_token is not None:
                self._send("POST", "/v1/auth/signout", json={"refresh_token": refresh_token})
        except KilnError:
            log.info("signed out locally; the service could not be told")
        finally:
            self.tokens.clear()

    def refresh(self) -> None:
        """Swap the refresh token for a new pair now (normally done on a 401 by itself)."""
        self._refresh(self.tokens.access_token)

    @property
    def signed_in(self) -> bool:
        return self.tokens.signed_in

    # ------------------------------------------------------------------ account
    def account(self) -> schema.Account:
        return self._call(schema.Account, "GET", "/v1/account")

    def delete_account(self, password: str) -> None:
        """Delete the account and everything in it on the service; then sign out here."""
        response = self.request("DELETE", "/v1/account", json={"password": password})
        raise_for_problem(response)
        self.tokens.clear()

    def balance(self) -> schema.Balance:
        return self._call(schema.Balance, "GET", "/v1/balance")

    def ledger(self, before: int | None = None, limit: int = 50) -> schema.LedgerPage:
        params: dict[str, Any] = {"limit": limit}
        if before is not None:
            params["before"] = before
        return self._call(schema.LedgerPage, "GET", "/v1/ledger", params=params)

    def plans(self) -> list[schema.Plan]:
        response = self._send("GET", "/v1/plans")
        raise_for_problem(response)
        try:
            return TypeAdapter(list[schema.Plan]).validate_python(response.json())
        except (ValueError, ValidationError):
            raise KilnError(ODD_ANSWER) from None

    def checkout(self, plan: str) -> schema.Checkout:
        """The payment page for a paid plan (the plan changes once the payment arrives).

        Raises :class:`KilnError` when the address is not an ``https`` page (or ``http`` on
        this computer): a service that sends anything else is not followed.
        """
        checkout = self._call(
            schema.Checkout, "POST", "/v1/account/plan/checkout", json={"plan": plan}
        )
        if not is_web_page(checkout.url):
            log.warning("the account service sent a checkout address that is not a web page")
            raise KilnError(ODD_ANSWER)
        return checkout

    def cancel_plan(self) -> schema.Account:
        """Move to the free plan when the current period ends (no refund, no refill)."""
        return self._call(schema.Account, "POST", "/v1/account/plan/cancel")

    def pricing(self) -> list[schema.Price]:
        response = self._send("GET", "/v1/pricing")
        raise_for_problem(response)
        try:
            return TypeAdapter(list[schema.Price]).validate_python(response.json())
        except (ValueError, ValidationError):
            raise KilnError(ODD_ANSWER) from None

    # ------------------------------------------------------------------ holds
    def hold(
        self,
        idempotency_key: str,
        kind: schema.GenerationKind | None = None,
        quality: schema.Quality = "standard",
        *,
        amount: int | None = None,
    ) -> schema.Hold:
        """Hold credits (the same key again returns the same hold).

        Raises :class:`NotEnoughCreditsError` when the account is short.
        """
        body = schema.HoldRequest(
            idempotency_key=idempotency_key, kind=kind, quality=quality, amount=amount
        )
        response = self.request("POST", "/v1/holds", json=body.model_dump(exclude_none=True))
        if response.status_code == 402:
            try:
                short = schema.InsufficientCredits.model_validate(_detail(response))
            except ValidationError:
                raise_for_problem(response)
                raise
            raise NotEnoughCreditsError(short.need, short.have)
        raise_for_problem(response)
        return _parse(schema.Hold, response)

    def get_hold(self, hold_id: str) -> schema.Hold:
        return self._call(schema.Hold, "GET", f"/v1/holds/{hold_id}")

    def capture(self, hold_id: str) -> schema.Hold:
        """Charge a hold (again: no change). A released or expired one is an AccountError."""
        return self._call(schema.Hold, "POST", f"/v1/holds/{hold_id}/capture")

    def release(self, hold_id: str) -> schema.Hold:
        """Give a hold's credits back (again: no change). A captured one is an AccountError."""
        return self._call(schema.Hold, "POST", f"/v1/holds/{hold_id}/release")


class _BearerAuth(httpx.Auth):
    def __init__(self, client: AccountClient) -> None:
        self._client = client

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        access = self._client.tokens.access_token or self._client._refresh(None)
        request.headers["Authorization"] = f"Bearer {access}"
        response = yield request
        if response.status_code == 401:
            access = self._client._refresh(access)
            request.headers["Authorization"] = f"Bearer {access}"
            yield request
