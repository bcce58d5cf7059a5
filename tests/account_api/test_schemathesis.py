"""Schemathesis against the live service (real HTTP on 127.0.0.1, SQLite and PostgreSQL).

Every operation of the OpenAPI document gets a bounded number of generated requests, valid
and invalid, with every check on: no 5xx, every status, header, content type and body as the
document says, valid data accepted and invalid data refused, auth not ignored.

The document is the application's own (``create_app(...).openapi()``); the test checks that
the live service serves exactly it, then sends every request to the live service.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig

from account_api.app import create_app
from account_api.settings import GuessPolicy, RateLimit
from tests.account_api.conftest import PASSWORD, make_settings
from tests.account_api.servers import ServiceThread

#: Generated requests per operation; the whole run stays well under 90 s on two cores.
EXAMPLES = 8
GENEROUS = RateLimit(100_000, timedelta(hours=1))
#: Besides 2xx, what a *valid* request may be answered: the schema cannot say that an
#: account is short of credits (402), that a password is among the first guesses or a
#: companion path names a reserved device (422), or that an id exists (404).
POSITIVE_STATUSES = ["2xx", "401", "402", "403", "404", "409", "422", "429"]
CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {"max-examples": EXAMPLES},
        "checks": {"positive_data_acceptance": {"expected-statuses": POSITIVE_STATUSES}},
        "operations": [
            {
                # A generated notification cannot carry a valid HMAC signature: 400.
                "include-path": "/v1/webhooks/payments",
                "checks": {
                    "positive_data_acceptance": {"expected-statuses": [*POSITIVE_STATUSES, "400"]}
                },
            }
        ],
    }
)


def _document() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(make_settings(Path(folder), f"sqlite:///{folder}/spec.sqlite3"))
        try:
            return app.openapi()
        finally:
            app.state.services.db.dispose()


SPEC = _document()
schema = schemathesis.openapi.from_dict(SPEC, config=CONFIG)


@pytest.fixture(scope="module")
def tuning() -> dict[str, Any]:
    return {
        "signin_per_ip": GENEROUS,
        "signup_per_ip": GENEROUS,
        "signup_per_email": GENEROUS,
        "guessing": GuessPolicy(pair_free=100_000, account_free=100_000),
        "checkout_url": "https://pay.example.com/checkout?plan={plan}&account={account}",
    }


@pytest.fixture(scope="module")
def bearer(service: ServiceThread) -> Iterator[dict[str, str]]:
    with httpx.Client(base_url=service.url, timeout=60) as http:
        served = http.get("/openapi.json").json()
        assert served == SPEC, "the live service serves another document than the one tested"
        signup = http.post(
            "/v1/auth/signup", json={"email": "fuzz@example.com", "password": PASSWORD}
        )
        assert signup.status_code == 201, signup.text
        yield {"Authorization": f"Bearer {signup.json()['access_token']}"}


@schema.parametrize()
def test_the_api_keeps_its_documented_promises(
    case: Any, service: ServiceThread, bearer: dict[str, str]
) -> None:
    case.call_and_validate(base_url=service.url, headers=bearer)
