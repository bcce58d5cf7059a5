"""Several files that failed together are reported together: one dialog, one row each."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6 import QtWidgets

from ui.opening import Failure


class FailureDialog(QtWidgets.QDialog):
    """Lists each file that could not be opened or stored, with its reason."""

    def __init__(self, failures: Sequence[Failure], parent: QtWidgets.QWidget | None) -> None:
        super().__init__(parent)
        self.setObjectName("failureDialog")
        self.setWindowTitle("Some files could not be added")
        layout = QtWidgets.QVBoxLayout(self)
        heading = QtWidgets.QLabel(
            f"{len(failures)} files could not be added to the library. "
            "The others were added; nothing else changed."
        )
        heading.setWordWrap(True)
        layout.addWidget(heading)
        self.table = QtWidgets.QTreeWidget()
        self.table.setObjectName("failureList")
        self.table.setHeaderLabels(["File", "What happened"])
        self.table.setRootIsDecorated(False)
        self.table.setWordWrap(True)
        for failure in failures:
            item = QtWidgets.QTreeWidgetItem([failure.name, failure.reason])
            item.setToolTip(1, failure.reason)
            self.table.addTopLevelItem(item)
        self.table.resizeColumnToContents(0)
        layout.addWidget(self.table)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(640, 280)

    def rows(self) -> list[tuple[str, str]]:
        return [
            (item.text(0), item.text(1))
            for item in (self.table.topLevelItem(i) for i in range(self.table.topLevelItemCount()))
            if item is not None
        ]
