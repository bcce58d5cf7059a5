"""The AI prompt panel: ask Meshy or Tripo for a model from words or pictures.

A chat-like history of generations on top; below it the request: a description, or one
picture, or front/left/back/right views; provider and quality; what it costs; Generate;
and the progress of the generation in flight, with Cancel and Retry.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from studio.jobs import job_fraction
from studio.jobs.naming import picture_name, short_name
from studio.library import GenerationRecord, Library, LibraryChange
from studio.providers.base import (
    IMAGE_SUFFIXES,
    VIEW_NAMES,
    Balance,
    GenerationKind,
    GenerationRequest,
    Quality,
)
from studio.providers.pricing import provider_credits
from ui.elided import ElidedLabel
from ui.generations import GenerationController
from ui.library_events import LibraryEvents
from ui.thumbnails import thumbnail

PROVIDERS = {"meshy": "Meshy", "tripo": "Tripo"}
GENERATION_ROLE = QtCore.Qt.ItemDataRole.UserRole
ICON = 48
STATUS_TEXT = {
    "requested": "Waiting to send",
    "submitting": "Sending",
    "queued": "Queued",
    "running": "Generating",
    "downloading": "Downloading",
    "importing": "Adding to the library",
    "succeeded": "Done",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "expired": "Expired",
}


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def _ago(moment: datetime) -> str:
    seconds = (datetime.now(UTC) - moment).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return moment.astimezone().strftime("%d %b %Y")


class ImageSlot(QtWidgets.QLabel):
    """A drop target (or click to choose) for one picture, shown as a thumbnail."""

    changed = QtCore.Signal()

    def __init__(self, caption: str, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.caption = caption
        self.path: Path | None = None
        self.setAcceptDrops(True)
        self.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(72, 72)
        self.setWordWrap(True)
        self.setCursor(QtGui.QCursor(QtCore.Qt.CursorShape.PointingHandCursor))
        self.setToolTip(f"{caption}: drop a PNG, JPEG or WebP picture, or click to choose one")
        self._paint()

    def set_path(self, path: Path | None) -> None:
        self.path = path
        self._paint()
        self.changed.emit()

    def _paint(self) -> None:
        if self.path is None:
            self.setPixmap(QtGui.QPixmap())
            self.setText(f"{self.caption}\n(drop a picture)")
            self.setStyleSheet("border: 1px dashed #5a5f68; color: #8a8f98; border-radius: 4px;")
            return
        pixmap = QtGui.QPixmap(str(self.path))
        self.setStyleSheet("border: 1px solid #e8964a; border-radius: 4px;")
        if pixmap.isNull():
            self.setText(self.path.name)
        else:
            self.setPixmap(
                pixmap.scaled(
                    68,
                    68,
                    QtCore.Qt.AspectRatioMode.KeepAspectRatio,
                    QtCore.Qt.TransformationMode.SmoothTransformation,
                )
            )

    def mousePressEvent(self, event: QtGui.QMouseEvent) -> None:
        if event.button() == QtCore.Qt.MouseButton.RightButton:
            self.set_path(None)
            return
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self,
            f"Choose the {self.caption.lower()} picture",
            "",
            "Pictures (*.png *.jpg *.jpeg *.webp)",
        )
        if path:
            self.set_path(Path(path))

    def dragEnterEvent(self, event: QtGui.QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile() and is_image(Path(urls[0].toLocalFile())):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QtGui.QDropEvent) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()
            self.set_path(Path(urls[0].toLocalFile()))


class PromptPanel(QtWidgets.QWidget):
    """Widgets call the controller; the controller's signals update the widgets."""

    #: The designer clicked a finished generation: show its version.
    view_requested = QtCore.Signal(object)  # GenerationRecord
    #: A plain sentence to report (bad input, no key...).
    failed = QtCore.Signal(object)  # exception
    #: The designer picked another provider or quality: (provider, quality).
    choices_changed = QtCore.Signal(str, str)

    def __init__(
        self,
        controller: GenerationController,
        library: Library,
        events: LibraryEvents,
        parent: QtWidgets.QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("promptPanel")
        self._controller = controller
        self._library = library
        self._target_model: int | None = None
        self._current: int | None = None  # the generation the progress row follows
        self._balances: dict[str, str] = {}
        #: The designer typed their own model name: stop filling it from the prompt.
        self._name_edited = False
        #: ``price(kind, quality) -> Kiln credits | None`` (None: no account, provider cost)
        self._kiln_price: Callable[[str, str], int | None] = lambda kind, quality: None

        self.history = QtWidgets.QListWidget()
        self.history.setObjectName("generationHistory")
        self.history.setIconSize(QtCore.QSize(ICON, ICON))
        self.history.setWordWrap(True)
        self.history.setSpacing(2)
        self.history.itemActivated.connect(self._on_item_activated)
        self.history.itemClicked.connect(self._on_item_activated)

        self.mode = QtWidgets.QTabBar()
        self.mode.setObjectName("generationMode")
        for label in ("Text", "Image", "Multi-view"):
            self.mode.addTab(label)
        self.mode.currentChanged.connect(self._on_mode_changed)
        self.prompt = QtWidgets.QPlainTextEdit()
        self.prompt.setObjectName("promptEdit")
        self.prompt.setPlaceholderText(
            "Describe the model, e.g. “a ceramic teapot shaped like a snail”"
        )
        self.prompt.setMaximumHeight(90)
        self.prompt.textChanged.connect(self._update_cost)
        self.prompt.textChanged.connect(self._suggest_name)
        self.name = QtWidgets.QLineEdit()
        self.name.setObjectName("modelName")
        self.name.setPlaceholderText("Name of the new model")
        self.name.setToolTip(
            "What the new model is called in the library. Filled from the description "
            "until you type your own."
        )
        self.name.setMaxLength(200)
        self.name.textEdited.connect(self._on_name_edited)
        self.single = ImageSlot("Picture")
        self.single.setObjectName("imageSlot")
        self.views = {name: ImageSlot(name.capitalize()) for name in VIEW_NAMES}
        for name, slot in self.views.items():
            slot.setObjectName(f"viewSlot_{name}")
        for slot in (self.single, *self.views.values()):
            slot.changed.connect(self._update_cost)
            slot.changed.connect(self._suggest_name)
        views_grid = QtWidgets.QGridLayout()
        for index, slot in enumerate(self.views.values()):
            views_grid.addWidget(slot, index // 2, index % 2)
        self.views_box = QtWidgets.QWidget()
        self.views_box.setLayout(views_grid)
        self.provider = QtWidgets.QComboBox()
        self.provider.setObjectName("providerCombo")
        for key, label in PROVIDERS.items():
            self.provider.addItem(label, key)
        self.provider.currentIndexChanged.connect(self._on_provider_changed)
        self.quality = QtWidgets.QComboBox()
        self.quality.setObjectName("qualityCombo")
        self.quality.addItem("Standard", Quality.STANDARD.value)
        self.quality.addItem("Ultra (PBR textures)", Quality.ULTRA.value)
        self.quality.currentIndexChanged.connect(self._update_cost)
        for combo in (self.provider, self.quality):  # narrow side bars: elide, don't widen
            combo.setSizeAdjustPolicy(
                QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
            )
            combo.setMinimumContentsLength(6)
        self.quality.currentIndexChanged.connect(self._on_choice)
        self.provider.currentIndexChanged.connect(self._on_choice)
        self.as_version = QtWidgets.QCheckBox("As a new version")
        self.as_version.setObjectName("asVersionCheck")
        self.as_version.setEnabled(False)
        self.as_version.toggled.connect(self._on_as_version)
        self.cost = QtWidgets.QLabel("")
        self.cost.setObjectName("costLabel")
        self.cost.setWordWrap(True)
        self.generate_button = QtWidgets.QPushButton("Generate")
        self.generate_button.setObjectName("generateButton")
        self.generate_button.setDefault(True)
        self.generate_button.clicked.connect(self.generate)
        self.stage = ElidedLabel("")
        self.stage.setObjectName("generationStage")
        self.bar = QtWidgets.QProgressBar()
        self.bar.setObjectName("generationProgress")
        self.bar.setRange(0, 100)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelGeneration")
        self.cancel_button.clicked.connect(self.cancel_current)
        #: What Cancel would do to credits, shown before the click (provider and stage).
        self.cancel_note = QtWidgets.QLabel("")
        self.cancel_note.setObjectName("cancelNote")
        self.cancel_note.setWordWrap(True)
        self.cancel_note.setProperty("role", "muted")
        self.retry_button = QtWidgets.QPushButton("Retry")
        self.retry_button.setObjectName("retryGeneration")
        self.retry_button.clicked.connect(self.retry_current)
        self.message = QtWidgets.QLabel("")
        self.message.setObjectName("generationMessage")
        self.message.setWordWrap(True)
        self.message.setProperty("role", "warning")

        choices = QtWidgets.QHBoxLayout()
        choices.addWidget(self.provider, 1)
        choices.addWidget(self.quality, 1)
        running = QtWidgets.QHBoxLayout()
        running.addWidget(self.bar, 1)
        running.addWidget(self.cancel_button)
        running.addWidget(self.retry_button)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.history, 1)
        layout.addWidget(self.mode)
        layout.addWidget(self.prompt)
        layout.addWidget(self.single)
        layout.addWidget(self.views_box)
        naming = QtWidgets.QHBoxLayout()
        name_label = QtWidgets.QLabel("Name")
        name_label.setBuddy(self.name)
        naming.addWidget(name_label)
        naming.addWidget(self.name, 1)
        layout.addLayout(naming)
        layout.addLayout(choices)
        layout.addWidget(self.as_version)
        layout.addWidget(self.cost)
        layout.addWidget(self.generate_button)
        layout.addWidget(self.stage)
        layout.addLayout(running)
        layout.addWidget(self.cancel_note)
        layout.addWidget(self.message)

        controller.progress.connect(self._on_progress)
        controller.finished.connect(self._on_finished)
        controller.paused.connect(self._on_paused)
        controller.balance.connect(self._on_balance)
        controller.sending_changed.connect(self._on_sending_changed)
        events.changed.connect(self._on_library_changed)
        self._on_mode_changed(0)
        self._show_running(None)
        self.refresh_history()

    # ------------------------------------------------------------------ request
    @property
    def kind(self) -> GenerationKind:
        return (GenerationKind.TEXT, GenerationKind.IMAGE, GenerationKind.MULTIVIEW)[
            self.mode.currentIndex()
        ]

    def provider_name(self) -> str:
        return str(self.provider.currentData())

    def set_provider(self, name: str) -> None:
        self.provider.setCurrentIndex(max(0, self.provider.findData(name)))

    def set_quality(self, quality: str) -> None:
        self.quality.setCurrentIndex(max(0, self.quality.findData(quality)))

    @QtCore.Slot()
    def _on_choice(self) -> None:
        self.choices_changed.emit(self.provider_name(), str(self.quality.currentData()))

    def current_request(self) -> GenerationRequest:
        quality = Quality(self.quality.currentData())
        if self.kind is GenerationKind.TEXT:
            return GenerationRequest(GenerationKind.TEXT, self.prompt.toPlainText(), (), quality)
        if self.kind is GenerationKind.IMAGE:
            return GenerationRequest(GenerationKind.IMAGE, "", (self.single.path,), quality)
        slots = tuple(self.views[name].path for name in VIEW_NAMES)
        return GenerationRequest(GenerationKind.MULTIVIEW, "", slots, quality)

    def add_images(self, paths: list[Path]) -> None:
        """Pictures dropped on the window: one fills the picture slot, more the views."""
        pictures = [p for p in paths if is_image(p)][:4]
        if len(pictures) == 1:
            self.mode.setCurrentIndex(1)
            self.single.set_path(pictures[0])
        elif pictures:
            self.mode.setCurrentIndex(2)
            for name, path in zip(VIEW_NAMES, pictures, strict=False):
                self.views[name].set_path(path)

    def set_target_model(self, model_id: int | None, name: str = "") -> None:
        """The selected model, which "regenerate" adds the next version to."""
        self._target_model = model_id
        self.as_version.setEnabled(model_id is not None)
        if model_id is None:
            self.as_version.setChecked(False)
            self.as_version.setText("As a new version")
        else:
            short = name if len(name) <= 12 else name[:11] + "…"
            self.as_version.setText(f"As a new version of “{short}”")
            self.as_version.setToolTip(f"Add the result as the next version of “{name}”")

    @QtCore.Slot()
    def generate(self) -> None:
        if self._controller.sending:
            return  # a request is on its way: a second click must not send another
        model_id = self._target_model if self.as_version.isChecked() else None
        request = self.current_request()
        provider = self.provider_name()
        self.message.setText("")
        # Disabled before anything can wait (the question below runs an event loop).
        self.generate_button.setEnabled(False)
        twin = self._controller.recent_twin(request, provider)
        if twin is not None and not self._confirm_twin(twin):
            self.message.setText("Not sent: the same request went out less than a minute ago.")
            self._on_sending_changed(self._controller.sending)
            return
        try:
            generation = self._controller.generate(
                request,
                provider,
                model_id=model_id,
                name="" if model_id is not None else self.name.text(),
            )
        except Exception as exc:  # bad input, no key: one plain sentence via the window
            self._on_sending_changed(self._controller.sending)
            self.failed.emit(exc)
            return
        self._name_edited = False  # the next description names the next model
        self._current = generation.id
        self._show_running(generation)
        self.refresh_history()

    def _confirm_twin(self, twin: GenerationRecord) -> bool:
        """Ask before sending what was sent moments ago; "Don't send" is the default."""
        label = PROVIDERS.get(twin.provider, twin.provider)
        box = QtWidgets.QMessageBox(self)
        box.setObjectName("twinQuestion")
        box.setIcon(QtWidgets.QMessageBox.Icon.Question)
        box.setWindowTitle("Generate the same model again?")
        box.setText(
            f"You asked {label} for exactly this less than a minute ago. "
            f"Generating again starts a second paid task."
        )
        box.setInformativeText(f"{label} charges for each task separately.")
        again = box.addButton("Generate again", QtWidgets.QMessageBox.ButtonRole.AcceptRole)
        keep = box.addButton("Don't send", QtWidgets.QMessageBox.ButtonRole.RejectRole)
        again.setObjectName("twinGenerateAgain")
        keep.setObjectName("twinDontSend")
        box.setDefaultButton(keep)
        box.setEscapeButton(keep)
        box.exec()
        return box.clickedButton() is again

    @QtCore.Slot(bool)
    def _on_sending_changed(self, sending: bool) -> None:
        self.generate_button.setEnabled(not sending)
        self.retry_button.setEnabled(not sending)
        if sending:
            label = PROVIDERS.get(self.provider_name(), self.provider_name())
            self.generate_button.setText(f"Sending to {label}…")
        else:
            self._update_cost()

    @QtCore.Slot()
    def cancel_current(self) -> None:
        if self._current is not None:
            self.cancel_button.setEnabled(False)  # once is enough; the answer comes back
            self.stage.setText("Cancelling…")
            self._controller.cancel(self._current)

    @QtCore.Slot()
    def retry_current(self) -> None:
        if self._current is None or self._controller.sending:
            return
        try:
            generation = self._controller.retry(self._current)
        except Exception as exc:
            self.failed.emit(exc)
            return
        self._current = generation.id
        self.message.setText("")
        self._show_running(generation)
        self.refresh_history()

    # ------------------------------------------------------------------ model name
    @QtCore.Slot()
    def _suggest_name(self) -> None:
        """Fill the name from the description (or picture) until the designer edits it."""
        if self._name_edited:
            return
        if self.kind is GenerationKind.TEXT:
            suggestion = short_name(self.prompt.toPlainText())
        else:
            slot = self.single if self.kind is GenerationKind.IMAGE else self.views["front"]
            suggestion = picture_name(slot.path.name) if slot.path is not None else ""
        if self.name.text() != suggestion:
            self.name.setText(suggestion)

    @QtCore.Slot(str)
    def _on_name_edited(self, text: str) -> None:
        # Emptying the field hands the name back to the description.
        self._name_edited = bool(text.strip())
        if not self._name_edited:
            self._suggest_name()

    @QtCore.Slot(bool)
    def _on_as_version(self, checked: bool) -> None:
        # A new version keeps its model's name.
        self.name.setEnabled(not checked)

    # ------------------------------------------------------------------ cost and balance
    @QtCore.Slot()
    def _on_provider_changed(self) -> None:
        self._update_cost()
        self.refresh_balance()

    def refresh_balance(self) -> None:
        """Ask the chosen provider for its balance (answers arrive as a signal)."""
        self._controller.fetch_balance(self.provider_name())

    @QtCore.Slot(str, object, str)
    def _on_balance(self, provider: str, balance: Balance | None, message: str) -> None:
        label = PROVIDERS.get(provider, provider)
        if balance is not None:
            self._balances[provider] = f"You have {balance.credits:,.0f} {label} credits."
        else:
            self._balances[provider] = message
        self._update_cost()

    def set_price_source(self, price: Callable[[str, str], int | None]) -> None:
        """Where Kiln credit prices come from (the account's price table)."""
        self._kiln_price = price
        self._update_cost()

    @QtCore.Slot()
    def _update_cost(self) -> None:
        provider = self.provider_name()
        label = PROVIDERS[provider]
        request = self.current_request()
        kiln = self._kiln_price(request.kind.value, request.quality.value)
        credits = provider_credits(provider, request)
        balance = self._balances.get(provider, "")
        if not self._controller.sending:
            self.generate_button.setText(
                f"Generate · {kiln} credits" if kiln is not None else "Generate"
            )
        if kiln is not None:
            # Two bills: Kiln's hold, and the provider's own credits on the designer's key.
            text = (
                f"Holds {kiln} of your Kiln credits (charged only if the model arrives), "
                f"and uses about {credits} {label} credits on your own {label} key. {balance}"
            )
        else:
            text = f"Costs about {credits} {label} credits on your {label} key. {balance}"
        self.cost.setText(text.strip())

    # ------------------------------------------------------------------ progress
    def _show_running(self, generation: GenerationRecord | None) -> None:
        running = generation is not None and not generation.finished
        self.bar.setVisible(running)
        self.cancel_button.setVisible(running)
        self.cancel_button.setEnabled(running)
        self.cancel_note.setVisible(running)
        failed = generation is not None and generation.status in ("failed", "expired")
        self.retry_button.setVisible(failed)
        if generation is None:
            self.stage.setText("")
            return
        self.bar.setValue(round(job_fraction(generation) * 100))
        self.stage.setText(STATUS_TEXT.get(generation.status, generation.status))
        self._update_cancel_note(generation)

    def _update_cancel_note(self, generation: GenerationRecord) -> None:
        """Say what Cancel would do to credits now: it changes as the provider moves on."""
        if generation.finished:
            self.cancel_note.setText("")
            return
        note = self._controller.cancel_consequence(generation)
        self.cancel_note.setText(f"Cancel: {note}" if note else "")
        self.cancel_button.setToolTip(note)

    @QtCore.Slot(int, float, str)
    def _on_progress(self, generation_id: int, fraction: float, stage: str) -> None:
        if generation_id == self._current:
            # Never backwards on screen, whatever order the reports arrive in.
            self.bar.setValue(max(self.bar.value(), round(fraction * 100)))
            if self.cancel_button.isEnabled():  # not while a cancel is on its way
                self.stage.setText(stage)
            self._update_cancel_note(self._library.get_generation(generation_id))
        self._update_history_item(generation_id)

    @QtCore.Slot(object)
    def _on_finished(self, record: GenerationRecord) -> None:
        if record.id == self._current:
            self._show_running(record)
            if record.status == "succeeded":
                self.bar.setValue(100)
                self.stage.setText("Done: the model is in the library.")
            else:
                # For a cancel: what it did to credits, at the provider and at Kiln.
                self.stage.setText(STATUS_TEXT.get(record.status, record.status))
                self.message.setText(record.error or STATUS_TEXT.get(record.status, ""))
        self.refresh_history()
        self._controller.fetch_balance(record.provider)

    @QtCore.Slot(int, str)
    def _on_paused(self, generation_id: int, message: str) -> None:
        if generation_id == self._current:
            self.message.setText(message)
            self.retry_button.setVisible(False)
        self.refresh_history()

    @QtCore.Slot(object)
    def _on_library_changed(self, change: LibraryChange) -> None:
        if change.kind != "generation-changed":
            self.refresh_history()

    # ------------------------------------------------------------------ history
    def refresh_history(self) -> None:
        self.history.clear()
        for generation in reversed(self._library.generations(limit=100)):
            self.history.addItem(self._history_item(generation))
        self.history.scrollToBottom()

    def _update_history_item(self, generation_id: int) -> None:
        for row in range(self.history.count()):
            item = self.history.item(row)
            if item is not None and item.data(GENERATION_ROLE) == generation_id:
                fresh = self._history_item(self._library.get_generation(generation_id))
                item.setText(fresh.text())
                return

    def _history_item(self, generation: GenerationRecord) -> QtWidgets.QListWidgetItem:
        if generation.prompt:
            asked = f"“{generation.prompt}”"
        else:
            names = ", ".join(i.filename for i in generation.images)
            asked = f"From {names}" if names else "From pictures"
        label = PROVIDERS.get(generation.provider, generation.provider)
        status = STATUS_TEXT.get(generation.status, generation.status)
        if not generation.finished:
            status += f" {round(job_fraction(generation) * 100)}%"
        credits = (
            f" · {generation.credits_charged} credits"
            if generation.credits_charged is not None
            else ""
        )
        text = (
            f"{asked}\n{label} · {generation.quality} · {status}{credits} · "
            f"{_ago(generation.created_at)}"
        )
        if generation.error and generation.finished and generation.status != "succeeded":
            text += f"\n{generation.error}"
        item = QtWidgets.QListWidgetItem(self._icon(generation), text)
        item.setData(GENERATION_ROLE, generation.id)
        item.setToolTip(text)
        return item

    def _icon(self, generation: GenerationRecord) -> QtGui.QIcon:
        path: Path | None = None
        if generation.result_version_id is not None:
            path = self._library.thumbnail_path(generation.result_version_id)
        elif generation.images:
            path = self._library.blob_path(generation.images[0].sha256)
        return QtGui.QIcon(thumbnail(path, ICON))

    @QtCore.Slot(QtWidgets.QListWidgetItem)
    def _on_item_activated(self, item: QtWidgets.QListWidgetItem) -> None:
        generation = self._library.get_generation(int(item.data(GENERATION_ROLE)))
        self._current = generation.id
        self._show_running(generation)
        failed = generation.finished and generation.status != "succeeded"
        self.message.setText((generation.error or "") if failed else "")
        if generation.status == "succeeded" and generation.result_version_id is not None:
            self.view_requested.emit(generation)

    @QtCore.Slot(int)
    def _on_mode_changed(self, index: int) -> None:
        self.prompt.setVisible(index == 0)
        self.single.setVisible(index == 1)
        self.views_box.setVisible(index == 2)
        self._update_cost()
        self._suggest_name()
