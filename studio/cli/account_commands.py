"""``account``: the Kiln account from the command line.

The service's address comes from the settings or ``KILN_ACCOUNT_URL``. The sign-in
(refresh token) is kept in the system keychain; the password is never echoed, stored or
printed.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from studio import secrets
from studio.account.client import AccountClient
from studio.account.gate import AccountGate
from studio.account.session import TokenStore
from studio.cli.output import local_time, print_json, table
from studio.errors import KilnError
from studio.jobs.gate import CreditGate, NoAccountGate
from studio.settings import Settings, load_settings

TIMEOUT = httpx.Timeout(30.0, connect=10.0)
NO_SERVICE = (
    "Kiln Studio has no account service address yet: set KILN_ACCOUNT_URL "
    "(or account_url in the settings)."
)


def _http() -> httpx.Client:
    return httpx.Client(timeout=TIMEOUT, follow_redirects=False)


@contextmanager
def open_account(settings: Settings | None = None) -> Iterator[AccountClient]:
    """A client for the configured service; its connection is closed afterwards."""
    url = (settings or load_settings()).account_url
    if not url:
        raise KilnError(NO_SERVICE)
    with _http() as http:
        yield AccountClient(url, client=http, tokens=TokenStore())


def credit_gate(settings: Settings) -> CreditGate:
    """The Kiln-credit gate when signed in to a configured service, else no account.

    The gate's connection lives as long as the command (the process ends it).
    """
    if settings.account_url and secrets.account_refresh_token():
        return AccountGate(AccountClient(settings.account_url, client=_http(), tokens=TokenStore()))
    return NoAccountGate()


def _password(args: argparse.Namespace) -> str:
    password: str | None = args.password
    if password is None:
        if sys.stdin.isatty():
            password = getpass.getpass("Password: ")
        else:
            password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise KilnError("Type your password (or pass it with --password).")
    return password


def _start(args: argparse.Namespace, signup: bool) -> int:
    password = _password(args)
    with open_account() as client:
        if signup:
            account = client.signup(args.email, password)
        else:
            account = client.signin(args.email, password)
        balance = client.balance()
    if args.json:
        print_json(
            {"account": account.model_dump(mode="json"), "balance": balance.model_dump(mode="json")}
        )
    else:
        done = "Signed up" if signup else "Signed in"
        print(f"{done} as {account.email}. You have {balance.available} credits.")
    return 0


def signup(args: argparse.Namespace) -> int:
    return _start(args, signup=True)


def login(args: argparse.Namespace) -> int:
    return _start(args, signup=False)


def logout(args: argparse.Namespace) -> int:
    tokens = TokenStore()
    was_signed_in = tokens.signed_in
    settings = load_settings()
    if settings.account_url:
        with open_account(settings) as client:
            client.signout()
    else:
        tokens.clear()
    if args.json:
        print_json({"signed_out": was_signed_in})
    else:
        print("Signed out." if was_signed_in else "You were not signed in.")
    return 0


def balance(args: argparse.Namespace) -> int:
    with open_account() as client:
        result = client.balance()
    if args.json:
        print_json(result.model_dump(mode="json"))
        return 0
    print(f"{result.available} credits available, {result.on_hold} on hold (plan: {result.plan}).")
    if result.buckets:
        rows = [
            [b.reason, str(b.remaining), str(b.granted), local_time(b.created_at)]
            for b in result.buckets
        ]
        print(table(["Credits from", "Left", "Granted", "Since"], rows, right=[1, 2]))
    return 0


def ledger(args: argparse.Namespace) -> int:
    with open_account() as client:
        page = client.ledger(before=args.before, limit=args.limit)
    if args.json:
        print_json(page.model_dump(mode="json"))
        return 0
    if not page.entries:
        print("No credit changes yet.")
        return 0
    rows = [
        [
            str(e.id),
            local_time(e.created_at),
            e.kind,
            f"{e.amount:+d}",
            f"{e.on_hold_change:+d}",
            e.reason,
        ]
        for e in page.entries
    ]
    print(table(["ID", "When", "Kind", "Credits", "On hold", "Reason"], rows, right=[3, 4]))
    if page.next_before is not None:
        print(f"More: account ledger --before {page.next_before}")
    return 0


def plans(args: argparse.Namespace) -> int:
    with open_account() as client:
        result = client.plans()
    if args.json:
        print_json([p.model_dump(mode="json") for p in result])
        return 0
    rows = [[p.code, p.name, f"{p.monthly_credits:,}"] for p in result]
    print(table(["Plan", "Name", "Credits a month"], rows, right=[2]))
    return 0


def upgrade(args: argparse.Namespace) -> int:
    """The payment page of a paid plan: nothing changes until the payment arrives."""
    with open_account() as client:
        checkout = client.checkout(args.plan)
    if args.json:
        print_json(checkout.model_dump(mode="json"))
    else:
        print(f"Pay for the {checkout.plan} plan here (it starts once the payment is through):")
        print(checkout.url)
    return 0


def cancel_plan(args: argparse.Namespace) -> int:
    with open_account() as client:
        account = client.cancel_plan()
    if args.json:
        print_json(account.model_dump(mode="json"))
    elif account.next_plan:
        print(
            f"Your {account.plan} plan moves to {account.next_plan} when this period ends; "
            "your credits stay until then."
        )
    else:
        print(f"You are on the {account.plan} plan already.")
    return 0


def sync(args: argparse.Namespace) -> int:
    """Bring the library and the account's models up to date with each other."""
    from studio.account.sync import sync_account
    from studio.cli.library_commands import open_library

    with open_account() as account, open_library(args) as library:
        if not account.signed_in:
            raise KilnError("Sign in first: python -m studio account login --email EMAIL.")
        report = sync_account(library, account)
    if args.json:
        print_json(
            {
                "pushed": report.pushed,
                "pulled": report.pulled,
                "conflicts": report.conflicts,
                "messages": report.messages,
            }
        )
    else:
        print(report.summary)
        for message in report.messages:
            print(message)
    return 0
