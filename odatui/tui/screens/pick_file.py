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
    BINDINGS = [Binding("escape", "cancel", "Cancel"), Binding("backspace", "up", "Up a folder")]

    def __init__(self, start: Path) -> None:
        super().__init__()
        self.start = start

    def compose(self) -> ComposeResult:
        with Vertical(id="picker"):
            yield Static("Choose the Okta Verify .pkg — arrows to move, Enter to open or choose, Backspace up a "
                         "folder, Esc to cancel", classes="excerpt")
            yield Static("", id="folder")
            yield PkgTree(self.start, id="tree")

    def on_mount(self) -> None:
        self._show_folder()
        self.query_one("#tree").focus()

    def _show_folder(self) -> None:
        folder = Path(self.query_one("#tree", PkgTree).path)
        self.query_one("#folder", Static).update(f"📁 {folder}" + ("" if folder.parent == folder else "   (⌫ up)"))

    def action_up(self) -> None:
        """The package is often not below the folder the picker opened in (~/Downloads vs ~/pkgs)."""
        tree = self.query_one("#tree", PkgTree)
        folder = Path(tree.path)
        if folder.parent != folder:
            tree.path = folder.parent
            self._show_folder()

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        self.dismiss(str(event.path))

    def action_cancel(self) -> None:
        self.dismiss(None)
