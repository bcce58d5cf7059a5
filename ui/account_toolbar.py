"""The account corner of the toolbar: sync state, credits (available and on hold), the menu.

It shows :class:`studio.workspace.AccountState`; :func:`follow_controller` keeps that state
true from the :class:`~ui.account.AccountController`'s signals, so the toolbar and anything
else that shows the account read one model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from PySide6 import QtCore, QtWidgets

from studio.workspace import AccountState
from ui import icons
from ui.account import AccountController, CreditsDialog, SignInDialog


class AccountBridge(QtCore.QObject):
    """Writes the controller's news into the :class:`AccountState` (on the GUI thread)."""

    def __init__(self, controller: AccountController, state: AccountState) -> None:
        super().__init__(controller)
        self._controller = controller
        self._state = state
        state.update({"available": controller.available, "can_sync": controller.can_sync})
        controller.state_changed.connect(self._on_state)
        controller.balance_changed.connect(self._on_balance)
        controller.sync_started.connect(self._on_sync_started)
        controller.synced.connect(self._on_synced)
        controller.failed.connect(self._on_failed)

    @QtCore.Slot(bool, str)
    def _on_state(self, signed_in: bool, email: str) -> None:
        if not signed_in:
            self._state.signed_out()
        else:
            self._state.update({"signed_in": True, "email": email})
        self._state.can_sync = self._controller.can_sync

    @QtCore.Slot(object)
    def _on_balance(self, balance: object) -> None:
        if balance is None:
            self._state.update({"credits_available": None, "credits_on_hold": None})
            return
        self._state.update(
            {
                "credits_available": int(getattr(balance, "available", 0)),
                "credits_on_hold": int(getattr(balance, "on_hold", 0)),
            }
        )

    @QtCore.Slot()
    def _on_sync_started(self) -> None:
        self._state.sync_status = "Syncing…"

    @QtCore.Slot(object)
    def _on_synced(self, _report: object) -> None:
        self._state.sync_status = f"Synced {datetime.now().strftime('%H:%M')}"

    @QtCore.Slot(object)
    def _on_failed(self, _exc: BaseException) -> None:
        if self._state.sync_status == "Syncing…":
            self._state.sync_status = "Not synced"


def describe_credits(available: int | None, on_hold: int | None) -> str:
    if available is None:
        return ""
    text = f"{available:,} credits"
    if on_hold:
        text += f" · {on_hold:,} on hold"
    return text


class AccountToolbar(QtWidgets.QToolBar):
    """Right-hand toolbar: "Synced 14:05 · 90 credits · 10 on hold · [you@example.com ▾]"."""

    def __init__(
        self,
        controller: AccountController,
        state: AccountState,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__("Account", parent)
        self.setObjectName("accountToolbar")
        self.setMovable(False)
        self._controller = controller
        self._state = state
        self.sync_label = QtWidgets.QLabel("")
        self.sync_label.setObjectName("syncLabel")
        self.sync_label.setProperty("role", "muted")
        self.addWidget(self.sync_label)
        self.balance_label = QtWidgets.QLabel("")
        self.balance_label.setObjectName("balanceLabel")
        self.balance_label.setProperty("role", "strong")
        self.addWidget(self.balance_label)
        self.account_button = QtWidgets.QToolButton()
        self.account_button.setObjectName("accountButton")
        self.account_button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        self.account_button.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        icons.give(self.account_button, "account")
        menu = QtWidgets.QMenu(self.account_button)
        self.sign_in_action = menu.addAction("Sign in or create an account…")
        self.sign_in_action.triggered.connect(self.open_sign_in)
        self.credits_action = menu.addAction("Credits and plans…")
        self.credits_action.triggered.connect(self.open_credits)
        self.sync_action = menu.addAction("Sync now")
        self.sync_action.setObjectName("syncNowAction")
        self.sync_action.triggered.connect(controller.sync_now)
        self.sign_out_action = menu.addAction("Sign out")
        self.sign_out_action.triggered.connect(controller.sign_out)
        self.account_button.setMenu(menu)
        self.addWidget(self.account_button)
        state.events.connect(self._show)
        self._show()

    def _show(self, *_: Any) -> None:
        state = self._state
        self.setVisible(state.available)
        email = state.email
        self.account_button.setText(_short(email) if state.signed_in else "Sign in")
        self.account_button.setToolTip(email if state.signed_in else "Sign in to your Kiln account")
        self.sign_in_action.setVisible(not state.signed_in)
        self.credits_action.setVisible(state.signed_in)
        self.sign_out_action.setVisible(state.signed_in)
        self.sync_action.setVisible(state.signed_in and state.can_sync)
        self.balance_label.setText(
            describe_credits(state.credits_available, state.credits_on_hold)
            if state.signed_in
            else ""
        )
        self.sync_label.setText(state.sync_status if state.signed_in else "")

    def open_sign_in(self) -> None:
        SignInDialog(self._controller, self).exec()

    def open_credits(self) -> None:
        CreditsDialog(self._controller, self).exec()

    def detach(self) -> None:
        self._state.events.disconnect(self._show)


def _short(email: str, limit: int = 24) -> str:
    return email if len(email) <= limit else email[: limit - 1] + "…"
