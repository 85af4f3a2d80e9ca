"""One step on the run screen: status glyph and title, elapsed time, and one line of what is happening (an upload
shows a bar with bytes and rate instead)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ListItem, ProgressBar, Static

from odatui.tui.progress import StepView


class StepPane(ListItem):
    def __init__(self, view: StepView) -> None:
        super().__init__(id=f"pane-{view.step_id.replace('.', '-')}", classes="step-pane")
        self.step_id = view.step_id
        self._view = view

    def compose(self) -> ComposeResult:
        with Horizontal(classes="pane-head"):
            yield Static("", classes="pane-title")
            yield Static("", classes="pane-elapsed")
        with Horizontal(classes="pane-line"):
            yield ProgressBar(total=100, show_eta=False, show_percentage=False, classes="pane-bar")
            yield Static("", classes="pane-text")

    def on_mount(self) -> None:
        self.show(self._view, None)

    def show(self, view: StepView, now: float | None) -> None:
        self._view = view
        self.query_one(".pane-title", Static).update(f"{view.glyph} {view.title}")
        self.query_one(".pane-elapsed", Static).update(view.elapsed(now) if now is not None else "")
        uploading = view.status == "running" and view.bytes_total is not None
        bar = self.query_one(".pane-bar", ProgressBar)
        bar.display = uploading
        if uploading and view.bytes_total:
            bar.update(total=view.bytes_total, progress=view.bytes_done or 0)
        self.query_one(".pane-text", Static).update(view.line())
        for status in ("running", "retrying", "failed", "needs-action", "succeeded", "unchanged", "skipped",
                       "cancelled", "pending"):
            self.set_class(view.status == status, f"-{status}")
