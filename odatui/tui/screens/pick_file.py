"""A keyboard file picker for the Okta Verify package: folders and .pkg files only."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Static


class PkgTree(DirectoryTree):
    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [p for p in paths if not p.name.startswith(".") and (p.is_dir() or p.suffix == ".pkg")]


class PickFileScreen(ModalScreen[str | None]):
    CSS_PATH = str(Path(__file__).parent.parent / "dialogs.tcss")
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, start: Path) -> None:
        super().__init__()
        self.start = start

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Static("Choose the Okta Verify .pkg — arrows to move, Enter to open or choose, Esc to cancel",
                         classes="excerpt")
            yield PkgTree(self.start, id="tree")

    def on_mount(self) -> None:
        self.query_one("#tree").focus()

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self.dismiss(str(event.path))

    def action_cancel(self) -> None:
        self.dismiss(None)
