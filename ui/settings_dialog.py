"""Settings: units and size limits (General), API keys and endpoints (Providers).

Keys go straight to the system keychain (:mod:`studio.secrets`); the dialog never keeps
one in the settings file, and "Test key" asks the provider for its balance.
"""

from __future__ import annotations

from PySide6 import QtCore, QtWidgets

from studio import secrets
from studio.errors import KilnError
from studio.providers.base import Balance
from studio.settings import Settings

MIB = 1024**2
PROVIDERS = {"meshy": "Meshy", "tripo": "Tripo"}


class ProviderKeyRow(QtWidgets.QGroupBox):
    """One provider: its key (write-only), where it comes from, Test, Remove, endpoint."""

    test_requested = QtCore.Signal(str)

    def __init__(
        self, provider: str, settings: Settings, parent: QtWidgets.QWidget | None = None
    ) -> None:
        super().__init__(PROVIDERS[provider], parent)
        self.provider = provider
        self.setObjectName(f"provider_{provider}")
        self.key = QtWidgets.QLineEdit()
        self.key.setObjectName(f"{provider}Key")
        self.key.setEchoMode(QtWidgets.QLineEdit.EchoMode.Password)
        self.key.setPlaceholderText("Paste your API key")
        self.save = QtWidgets.QPushButton("Save key")
        self.save.setObjectName(f"{provider}SaveKey")
        self.save.clicked.connect(self.save_key)
        self.test = QtWidgets.QPushButton("Test key")
        self.test.setObjectName(f"{provider}TestKey")
        self.test.clicked.connect(lambda: self.test_requested.emit(self.provider))
        self.remove = QtWidgets.QPushButton("Remove")
        self.remove.setObjectName(f"{provider}RemoveKey")
        self.remove.clicked.connect(self.remove_key)
        self.status = QtWidgets.QLabel("")
        self.status.setObjectName(f"{provider}KeyStatus")
        self.status.setWordWrap(True)
        self.endpoint = QtWidgets.QLineEdit(getattr(settings, f"{provider}_base_url"))
        self.endpoint.setObjectName(f"{provider}Endpoint")
        self.endpoint.setPlaceholderText("the provider's own address")
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.key, 1)
        row.addWidget(self.save)
        row.addWidget(self.test)
        row.addWidget(self.remove)
        form = QtWidgets.QFormLayout(self)
        form.addRow("API key", row)
        form.addRow("", self.status)
        form.addRow("Endpoint", self.endpoint)
        self.show_source()

    def show_source(self, extra: str = "") -> None:
        source = secrets.key_source(self.provider)
        text = {
            "environment": f"Using KILN_{self.provider.upper()}_API_KEY from the environment.",
            "keychain": "A key is saved in the system keychain.",
            "": "No key yet.",
        }[source]
        self.status.setText(f"{text} {extra}".strip())

    @QtCore.Slot()
    def save_key(self) -> None:
        try:
            secrets.set_api_key(self.provider, self.key.text())
        except KilnError as exc:
            self.status.setText(exc.message)
            return
        self.key.clear()  # the key leaves the widget as soon as it is in the keychain
        self.show_source()

    @QtCore.Slot()
    def remove_key(self) -> None:
        try:
            secrets.delete_api_key(self.provider)
        except KilnError as exc:
            self.status.setText(exc.message)
            return
        self.show_source()

    def show_balance(self, balance: Balance | None, message: str) -> None:
        if balance is not None:
            self.show_source(f"It works: {balance.credits:,.0f} credits.")
        else:
            self.show_source(message)


class SettingsDialog(QtWidgets.QDialog):
    """Edits a copy of the values; :meth:`apply` writes them to ``settings`` on OK."""

    test_key = QtCore.Signal(str)

    def __init__(self, settings: Settings, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self._settings = settings
        self.tabs = QtWidgets.QTabWidget()
        self.tabs.addTab(self._general(settings), "General")
        providers = QtWidgets.QWidget()
        column = QtWidgets.QVBoxLayout(providers)
        self.providers = {name: ProviderKeyRow(name, settings) for name in PROVIDERS}
        for row in self.providers.values():
            row.test_requested.connect(self.test_key)
            column.addWidget(row)
        note = QtWidgets.QLabel(
            "Keys are kept in your system's keychain, never in a file. Generations are billed "
            "to your own provider account."
        )
        note.setWordWrap(True)
        note.setProperty("role", "muted")
        column.addWidget(note)
        column.addStretch(1)
        self.tabs.addTab(providers, "Providers")
        buttons = QtWidgets.QDialogButtonBox(
            QtWidgets.QDialogButtonBox.StandardButton.Ok
            | QtWidgets.QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.tabs)
        layout.addWidget(buttons)
        self.resize(560, 420)

    def _general(self, settings: Settings) -> QtWidgets.QWidget:
        page = QtWidgets.QWidget()
        self.units = QtWidgets.QComboBox()
        self.units.setObjectName("unitsCombo")
        self.units.addItems(["mm", "cm", "m", "in"])
        self.units.setCurrentText(settings.view.unit)
        self.max_file_size = QtWidgets.QSpinBox()
        self.max_file_size.setObjectName("maxFileSize")
        self.max_file_size.setRange(1, 64 * 1024)
        self.max_file_size.setSuffix(" MB")
        self.max_file_size.setValue(max(1, settings.max_file_size // MIB))
        self.max_triangles = QtWidgets.QSpinBox()
        self.max_triangles.setObjectName("maxTriangles")
        self.max_triangles.setRange(1, 2000)
        self.max_triangles.setSuffix(" million")
        self.max_triangles.setValue(max(1, settings.max_triangles // 1_000_000))
        form = QtWidgets.QFormLayout(page)
        form.addRow("Units for dimensions", self.units)
        form.addRow("Largest file to open", self.max_file_size)
        form.addRow("Most triangles to open", self.max_triangles)
        self.account_url = QtWidgets.QLineEdit(settings.account_url)
        self.account_url.setObjectName("accountUrl")
        self.account_url.setPlaceholderText("e.g. https://accounts.example.com (empty: no account)")
        self.account_url.setToolTip("Takes effect the next time Kiln Studio starts.")
        form.addRow("Kiln account service", self.account_url)
        hint = QtWidgets.QLabel(
            "Bigger files need more memory: about 100 bytes per triangle while shown."
        )
        hint.setWordWrap(True)
        hint.setProperty("role", "muted")
        form.addRow(hint)
        return page

    def show_providers(self) -> None:
        self.tabs.setCurrentIndex(1)

    def show_balance(self, provider: str, balance: Balance | None, message: str) -> None:
        if provider in self.providers:
            self.providers[provider].show_balance(balance, message)

    def apply(self) -> None:
        self._settings.view.unit = self.units.currentText()  # type: ignore[assignment]
        self._settings.max_file_size = self.max_file_size.value() * MIB
        self._settings.max_triangles = self.max_triangles.value() * 1_000_000
        self._settings.account_url = self.account_url.text().strip()
        for name, row in self.providers.items():
            setattr(self._settings, f"{name}_base_url", row.endpoint.text().strip())
