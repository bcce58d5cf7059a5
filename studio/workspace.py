"""The state the window shows, as evented models the views subscribe to.

The core owns this state; widgets and the viewport take the models they show in their
constructors, connect to their events, and call their methods. Nothing here knows about
Qt: events fire in the thread that changed the model, and the UI changes these models
only on its GUI thread (workers hand their results back first).

- :class:`Settings` (with its :class:`ViewState`) — what the designer chose;
- :class:`Selection` — the model in hand, the version on screen and the active one;
- :class:`AccountState` — signed in or not, credits, sync.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from psygnal import EventedModel
from pydantic import ConfigDict

from studio.library import Library, LibraryChange, LibraryError, ModelRecord, VersionRecord
from studio.settings import Settings, ViewState

__all__ = ["AccountState", "Selection", "Settings", "ViewState", "Workspace"]


class Selection(EventedModel):
    """What is in hand: a model of the library, and which of its versions is on screen.

    ``shown`` is the library version the viewport shows (``None`` while a file that is not
    stored yet is on screen, see ``shown_file``); ``active`` is the model's active version.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model: ModelRecord | None = None
    shown: VersionRecord | None = None
    active: VersionRecord | None = None
    shown_file: str | None = None

    @property
    def shows_inactive(self) -> bool:
        """True when the viewport shows a version that is not the model's active one."""
        return (
            self.shown is not None
            and self.active is not None
            and self.shown.model_id == self.active.model_id
            and self.shown.id != self.active.id
        )


class AccountState(EventedModel):
    """The Kiln account as the toolbar and the prompt panel show it."""

    #: An account service is configured (otherwise the account UI stays hidden).
    available: bool = False
    signed_in: bool = False
    email: str = ""
    credits_available: int | None = None
    credits_on_hold: int | None = None
    #: "", "Syncing…", "Synced 14:05", "Not synced"
    sync_status: str = ""
    can_sync: bool = False

    def signed_out(self) -> None:
        self.update(
            {
                "signed_in": False,
                "email": "",
                "credits_available": None,
                "credits_on_hold": None,
                "sync_status": "",
            }
        )


@dataclass
class Workspace:
    """The evented models of one window, and the library they describe."""

    library: Library
    settings: Settings
    selection: Selection = field(default_factory=Selection)
    account: AccountState = field(default_factory=AccountState)

    @property
    def view(self) -> ViewState:
        return self.settings.view

    # ------------------------------------------------------------------ selection
    def select_model(self, model_id: int | None) -> None:
        """Put ``model_id`` in hand (its active version becomes the one to show)."""
        if model_id is None:
            self.selection.update({"model": None, "active": None})
            return
        model = self.library.get_model(model_id)
        active = self.library.active_version(model_id)
        self.selection.update({"model": model, "active": active})

    def show_version(self, version: VersionRecord) -> None:
        """``version`` is on screen now (it may belong to another model than before)."""
        if self.selection.model is None or self.selection.model.id != version.model_id:
            self.select_model(version.model_id)
        self.selection.update({"shown": version, "shown_file": None})

    def show_file(self, path: str) -> None:
        """A file not in the library (yet) is on screen."""
        self.selection.update({"shown": None, "shown_file": path})

    def on_library_changed(self, change: LibraryChange) -> None:
        """Keep the selection true after any write (call on the GUI thread)."""
        model = self.selection.model
        if change.kind == "generation-changed" or model is None:
            return
        if change.model_id not in (None, model.id):
            return
        try:
            fresh_model = self.library.get_model(model.id)
            active = self.library.active_version(model.id)
        except LibraryError:  # the model is gone
            self.selection.update({"model": None, "active": None, "shown": None})
            return
        shown = self.selection.shown
        if shown is not None and shown.model_id == model.id:
            try:
                shown = self.library.get_version_by_id(shown.id)
            except LibraryError:  # the shown version was deleted
                shown = None
        self.selection.update({"model": fresh_model, "active": active, "shown": shown})
