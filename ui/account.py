"""The Kiln account in the window: sign-in, the balance in the toolbar, the credits page.

Every call to the account service runs on a worker; results come back as signals. Without
an account the app works as before (generation bills the provider key alone).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6 import QtCore, QtGui, QtWidgets

from studio.account.schema import Account, Balance, Checkout, LedgerPage, Plan, Price
from studio.jobs import Jobs, NoAccountGate
from ui.worker import Job, JobRunner

log = logging.getLogger(__name__)


class AccountController(QtCore.QObject):
    """The window's handle on :class:`studio.account.AccountClient`."""

    #: (signed in, email)
    state_changed = QtCore.Signal(bool, str)
    balance_changed = QtCore.Signal(object)  # Balance | None
    ledger_loaded = QtCore.Signal(object)  # LedgerPage
    plans_loaded = QtCore.Signal(object)  # list[Plan]
    #: A sentence about the plan change just asked for (payment page opened, or scheduled).
    plan_note = QtCore.Signal(str)
    failed = QtCore.Signal(object)  # an exception, for the window's error reporter
    synced = QtCore.Signal(object)  # SyncReport
    sync_started = QtCore.Signal()
    busy = QtCore.Signal(bool)

    def __init__(
        self,
        client_factory: Callable[[], Any] | None,
        jobs: Jobs | None = None,
        parent: QtCore.QObject | None = None,
        *,
        sync_run: Callable[[Any], Any] | None = None,
    ) -> None:
        super().__init__(parent)
        self._factory = client_factory
        self._client: Any = None
        self._jobs = jobs
        self._sync_run = sync_run
        self._runner = JobRunner(self, max_threads=2)
        self.email = ""
        self.last_balance: Balance | None = None
        self._prices: list[Price] = []
        #: Open dialogs that show account failures themselves (the window then doesn't).
        self.dialogs_showing_errors = 0

    @property
    def available(self) -> bool:
        """True when an account service is configured at all."""
        return self._factory is not None

    @property
    def client(self) -> Any:
        if self._client is None and self._factory is not None:
            self._client = self._factory()
        return self._client

    @property
    def signed_in(self) -> bool:
        client = self.client
        return bool(client is not None and client.signed_in)

    def start(self) -> None:
        """Show the remembered sign-in (if any), fetch the balance, and sync."""
        client = self.client
        if client is not None and client.signed_in:
            self.email = client.tokens.email or ""
            self._use_account_gate()
            self.state_changed.emit(True, self.email)
            self.refresh_balance()
            self._load_prices()
            self.sync_now()  # what was changed offline goes out now
        else:
            self.state_changed.emit(False, "")

    # ------------------------------------------------------------------ calls
    def _call(self, fn: Callable[..., Any], *args: Any, done: Callable[[Any], None]) -> None:
        job = Job(fn, *args, takes_progress=False, title="Account")
        relay = _Relay(self, done)
        job.finished.connect(relay.on_finished)
        job.failed.connect(relay.on_failed)
        self.busy.emit(True)
        self._runner.start(job)

    def sign_up(self, email: str, password: str) -> None:
        self._call(self.client.signup, email, password, done=self._on_signed_in)

    def sign_in(self, email: str, password: str) -> None:
        self._call(self.client.signin, email, password, done=self._on_signed_in)

    def sign_out(self) -> None:
        self._call(self.client.signout, done=self._on_signed_out)

    def refresh_balance(self) -> None:
        if self.signed_in:
            self._call(self.client.balance, done=self._on_balance)

    def load_ledger(self) -> None:
        if self.signed_in:
            self._call(self.client.ledger, done=self.ledger_loaded.emit)

    def load_plans(self) -> None:
        if self.available:
            self._call(self.client.plans, done=self.plans_loaded.emit)

    def change_plan(self, plan: str) -> None:
        """A paid plan: open its payment page in the browser (the plan changes when the
        payment arrives). The free plan: move to it when the current period ends."""
        if plan == "free":
            self._call(self.client.cancel_plan, done=self._on_plan_cancelled)
        else:
            self._call(self.client.checkout, plan, done=self._on_checkout)

    @property
    def can_sync(self) -> bool:
        return self._sync_run is not None

    def sync_now(self) -> None:
        if self.signed_in and self._sync_run is not None:
            self.sync_started.emit()
            self._call(self._sync_run, self.client, done=self._on_synced)

    # ------------------------------------------------------------------ results
    def _on_signed_in(self, account: Any) -> None:
        self.email = getattr(account, "email", "") or self.client.tokens.email or ""
        self._use_account_gate()
        self.state_changed.emit(True, self.email)
        self.refresh_balance()
        self._load_prices()

    def _load_prices(self) -> None:
        self._call(self.client.pricing, done=self._on_prices)

    def _on_prices(self, prices: list[Price]) -> None:
        self._prices = list(prices)
        self.state_changed.emit(True, self.email)  # listeners re-read the price

    def _on_signed_out(self, _result: Any) -> None:
        self.email = ""
        self.last_balance = None
        self._prices = []
        if self._jobs is not None:
            self._jobs.gate = NoAccountGate()
        self.state_changed.emit(False, "")
        self.balance_changed.emit(None)

    def _on_checkout(self, checkout: Checkout) -> None:
        if QtGui.QDesktopServices.openUrl(QtCore.QUrl(checkout.url)):
            self.plan_note.emit(
                "The payment page is open in your browser. Your plan changes as soon as "
                "the payment is through."
            )
        else:
            self.plan_note.emit(f"Open this page to pay for the plan: {checkout.url}")

    def _on_plan_cancelled(self, account: Account) -> None:
        if account.next_plan:
            self.plan_note.emit(
                f"Your plan moves to {account.next_plan} when this period ends; "
                "your credits stay until then."
            )
        else:
            self.plan_note.emit(f"You are on the {account.plan} plan already.")
        self.refresh_balance()

    def _on_balance(self, balance: Balance) -> None:
        self.last_balance = balance
        self.balance_changed.emit(balance)

    def _on_synced(self, report: Any) -> None:
        self.synced.emit(report)
        self.refresh_balance()

    def _use_account_gate(self) -> None:
        if self._jobs is None:
            return
        from studio.account import AccountGate

        self._jobs.gate = AccountGate(self.client)

    def price(self, kind: str, quality: str) -> int | None:
        """Kiln credits for a request from the service's price table; None when signed out
        (or before the table has arrived): the panel then shows the provider's cost."""
        from studio.account.gate import WIRE_KIND
        from studio.providers.base import GenerationKind

        if not self._prices:
            return None
        wire = WIRE_KIND[GenerationKind(kind)]
        exact = [p for p in self._prices if p.kind == wire and p.quality == quality]
        any_quality = [p for p in self._prices if p.kind == wire and p.quality is None]
        found = exact or any_quality
        return found[0].credits if found else None

    def shutdown(self) -> None:
        self._runner.shutdown(5_000, cancel=False)


class _Relay(QtCore.QObject):
    def __init__(self, controller: AccountController, done: Callable[[Any], None]) -> None:
        super().__init__(controller)
        self._controller = controller
        self._done = done

    @QtCore.Slot(object)
    def on_finished(self, result: Any) -> None:
        self._controller.busy.emit(False)
        self._done(result)
        self.deleteLater()

    @QtCore.Slot(object)
    def on_failed(self, exc: BaseException) -> None:
        self._controller.busy.emit(False)
        self._controller.failed.emit(exc)
        self.deleteLater()


class SignInDialog(QtWidgets.QDialog):
    """Email and password; Sign in, or Create account (100 credits to start)."""

    def __init__(
        self, controller: AccountController, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("signInDialog")
        self.setWindowTitle("Kiln account")
        self._controller = controller
        self.email = QtWidgets.QLineEdit()
        self.email.setObjectName("accountEmail")
        self.email.setPlaceholderText("you@example.com")
        self.password = QtWidgets.QLineEdit()
        self.password.setObjectName("accountPassword")
        self.password.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.message = QtWidgets.QLabel(
            "New here? Create an account: it starts with 100 credits for generating models."
        )
        self.message.setObjectName("accountMessage")
        self.message.setWordWrap(True)
        self.sign_in_button = QtWidgets.QPushButton("Sign in")
        self.sign_in_button.setObjectName("signInButton")
        self.sign_up_button = QtWidgets.QPushButton("Create account")
        self.sign_up_button.setObjectName("signUpButton")
        cancel = QtWidgets.QPushButton("Cancel")
        self.sign_in_button.clicked.connect(self._sign_in)
        self.sign_up_button.clicked.connect(self._sign_up)
        cancel.clicked.connect(self.reject)
        form = QtWidgets.QFormLayout()
        form.addRow("Email", self.email)
        form.addRow("Password", self.password)
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(self.sign_up_button)
        buttons.addStretch(1)
        buttons.addWidget(cancel)
        buttons.addWidget(self.sign_in_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addLayout(buttons)
        controller.state_changed.connect(self._on_state)
        controller.failed.connect(self._on_failed)
        self.resize(420, 180)

    def _busy(self, busy: bool) -> None:
        for widget in (self.sign_in_button, self.sign_up_button, self.email, self.password):
            widget.setEnabled(not busy)

    def showEvent(self, event: Any) -> None:
        self._controller.dialogs_showing_errors += 1
        super().showEvent(event)

    def hideEvent(self, event: Any) -> None:
        self._controller.dialogs_showing_errors -= 1
        super().hideEvent(event)

    @QtCore.Slot()
    def _sign_in(self) -> None:
        self._busy(True)
        self._controller.sign_in(self.email.text().strip(), self.password.text())

    @QtCore.Slot()
    def _sign_up(self) -> None:
        self._busy(True)
        self._controller.sign_up(self.email.text().strip(), self.password.text())

    @QtCore.Slot(bool, str)
    def _on_state(self, signed_in: bool, _email: str) -> None:
        if signed_in:
            self.password.clear()  # the password never outlives the request
            self.accept()

    @QtCore.Slot(object)
    def _on_failed(self, exc: BaseException) -> None:
        self._busy(False)
        self.message.setText(str(exc))


class CreditsDialog(QtWidgets.QDialog):
    """Plan, balance (and what is on hold), the credit buckets and every ledger entry."""

    def __init__(
        self, controller: AccountController, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("creditsDialog")
        self.setWindowTitle("Credits")
        self._controller = controller
        self.summary = QtWidgets.QLabel("")
        self.summary.setObjectName("creditsSummary")
        self.summary.setStyleSheet("font-size: 15px; font-weight: 600;")
        self.plan = QtWidgets.QComboBox()
        self.plan.setObjectName("planCombo")
        self.change_plan = QtWidgets.QPushButton("Change plan")
        self.change_plan.setObjectName("changePlanButton")
        self.change_plan.setToolTip(
            "A paid plan opens its payment page; Free starts when this period ends."
        )
        self.change_plan.clicked.connect(self._on_change_plan)
        self.plan_note = QtWidgets.QLabel("")
        self.plan_note.setObjectName("planNote")
        self.plan_note.setWordWrap(True)
        self.buckets = QtWidgets.QTableWidget(0, 4)
        self.buckets.setObjectName("bucketsTable")
        self.buckets.setHorizontalHeaderLabels(["Credits", "Left", "From", "Since"])
        self.ledger = QtWidgets.QTableWidget(0, 4)
        self.ledger.setObjectName("ledgerTable")
        self.ledger.setHorizontalHeaderLabels(["When", "Change", "On hold", "What"])
        for table in (self.buckets, self.ledger):
            table.verticalHeader().setVisible(False)
            table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
            table.horizontalHeader().setStretchLastSection(True)
        plan_row = QtWidgets.QHBoxLayout()
        plan_row.addWidget(QtWidgets.QLabel("Plan"))
        plan_row.addWidget(self.plan, 1)
        plan_row.addWidget(self.change_plan)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addLayout(plan_row)
        layout.addWidget(self.plan_note)
        layout.addWidget(QtWidgets.QLabel("Where your credits come from (spent in this order)"))
        layout.addWidget(self.buckets, 1)
        layout.addWidget(QtWidgets.QLabel("Every credit movement"))
        layout.addWidget(self.ledger, 2)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        controller.balance_changed.connect(self.show_balance)
        controller.ledger_loaded.connect(self.show_ledger)
        controller.plans_loaded.connect(self.show_plans)
        controller.plan_note.connect(self.plan_note.setText)
        self.resize(640, 560)
        if controller.last_balance is not None:
            self.show_balance(controller.last_balance)
        controller.refresh_balance()
        controller.load_ledger()
        controller.load_plans()

    @QtCore.Slot(object)
    def show_balance(self, balance: Balance | None) -> None:
        if balance is None:
            self.summary.setText("Not signed in.")
            return
        held = f" · {balance.on_hold:,} on hold" if balance.on_hold else ""
        self.summary.setText(f"{balance.available:,} credits{held} · {balance.plan} plan")
        index = self.plan.findData(balance.plan)
        if index >= 0:
            self.plan.setCurrentIndex(index)
        self.buckets.setRowCount(len(balance.buckets))
        for row, bucket in enumerate(balance.buckets):
            values = [
                f"{bucket.granted:,}",
                f"{bucket.remaining:,}",
                bucket.reason or bucket.kind.replace("_", " "),
                bucket.created_at.astimezone().strftime("%d %b %Y"),
            ]
            for column, value in enumerate(values):
                self.buckets.setItem(row, column, QtWidgets.QTableWidgetItem(value))
        self.buckets.resizeColumnsToContents()
        self._controller.load_ledger()

    @QtCore.Slot(object)
    def show_ledger(self, page: LedgerPage) -> None:
        self.ledger.setRowCount(len(page.entries))
        for row, entry in enumerate(page.entries):
            values = [
                entry.created_at.astimezone().strftime("%d %b %Y %H:%M"),
                f"{entry.amount:+,}" if entry.amount else "",
                f"{entry.on_hold_change:+,}" if entry.on_hold_change else "",
                entry.reason or entry.kind.replace("_", " "),
            ]
            for column, value in enumerate(values):
                self.ledger.setItem(row, column, QtWidgets.QTableWidgetItem(value))
        self.ledger.resizeColumnsToContents()

    @QtCore.Slot(object)
    def show_plans(self, plans: list[Plan]) -> None:
        current = self.plan.currentData()
        self.plan.clear()
        for plan in plans:
            self.plan.addItem(f"{plan.name} — {plan.monthly_credits:,} credits a month", plan.code)
        index = self.plan.findData(
            current
            or (self._controller.last_balance.plan if self._controller.last_balance else None)
        )
        if index >= 0:
            self.plan.setCurrentIndex(index)

    @QtCore.Slot()
    def _on_change_plan(self) -> None:
        code = self.plan.currentData()
        current = self._controller.last_balance.plan if self._controller.last_balance else None
        if not code:
            return
        if code == current:
            self.plan_note.setText("This is your plan already.")
            return
        self._controller.change_plan(str(code))
