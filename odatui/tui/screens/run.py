"""Run: one pane per step on the left, the selected step's details on the right (log lines; the error with its fix
and Retry; a needs-action step's instructions with Check now), the overall bar on top.

The screen only renders: the app folds engine events into its RunModel and calls `refresh_step`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, ListView, ProgressBar, Static

from odatui.tui.progress import StepView
from odatui.tui.widgets.banner import SandboxBanner
from odatui.tui.widgets.step_pane import StepPane

if TYPE_CHECKING:
    from odatui.tui.host import Wizard


class RunScreen(Screen):
    CSS_PATH = str(Path(__file__).parent.parent / "run.tcss")
    HELP = """\
# Run

Each pane is one step: **✓** done, **▶** running, **↻** retrying by itself, **✗** failed, **!** needs you,
**–** skipped (something it needs did not finish), **○** cancelled (the run was stopped while it ran).
A running pane that reads **↻ GET …: HTTP 503; retry 1/4 in 0.6s** is odatui retrying one call by itself. After a
resume, **last run: …** is how a step ended before; it is replaced as soon as the step runs again.
The details follow the running step until you pick one with ↑/↓.

* **↑/↓** select a step; its log and details show on the right.
* **r** retries the selected failed or cancelled step (and the steps that were waiting for it).
* **R** retries every failed step.
* **c** on a step that needs you: look again now (odatui also checks by itself).
* **a** (demo only) does the admin's part for you: adds the app in the sandbox's Okta.
* **n** shows the results once the run has finished.

Quitting mid-run asks first, then cancels cleanly; the state is kept and the next start offers to resume."""

    BINDINGS = [
        Binding("r", "retry", "Retry step"),
        Binding("R", "retry_failed", "Retry all failed"),
        Binding("c", "check_now", "Check now"),
        Binding("a", "simulate_admin", "Add app (demo)"),
        Binding("n", "results", "Results"),
    ]

    @property
    def odatui(self) -> Wizard:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        if self.odatui.demo:
            yield SandboxBanner()
        with Horizontal(id="overall-row"):
            yield ProgressBar(total=100, show_eta=False, id="overall")
            yield Static("", id="headline")
        with Horizontal(id="run-body"):
            yield ListView(*[StepPane(v) for v in self.odatui.model.steps.values()], id="steps")
            with Vertical(id="detail"):
                with VerticalScroll(id="detail-scroll"):
                    yield Static("", id="detail-status")
                    yield Static("", id="detail-error")
                    yield Static("", id="detail-action")
                    yield Static("", id="detail-log")
                with Horizontal(id="detail-buttons"):
                    yield Button("Retry", id="retry", compact=True, variant="warning")
                    yield Button("Check now", id="check", compact=True)
                    yield Button("Add app (demo)", id="simulate", compact=True)
                    yield Button("Retry all failed", id="retry-failed", compact=True)
                    yield Button("Results", id="results", compact=True, variant="primary")
        yield Footer()

    _picked = False  # the admin moved the selection: the details stay on their step

    def on_mount(self) -> None:
        # The initial highlight (the first step) is not a pick either.
        self._auto_pending: set[str] = set(list(self.odatui.model.steps)[:1])
        self.query_one("#steps", ListView).border_title = "Steps"
        self.query_one("#steps", ListView).focus()
        self.refresh_all()
        self.set_interval(1.0, self._tick)

    # --- rendering ---
    def selected(self) -> StepView | None:
        lists = self.query("#steps").results(ListView)
        steps = next(lists, None)
        if steps is None:  # the Footer asks check_action while the screen is still being built (or torn down)
            return None
        item = steps.highlighted_child
        if isinstance(item, StepPane):
            return self.odatui.model.steps.get(item.step_id)
        return None

    def refresh_all(self) -> None:
        now = self.odatui.model.clock()
        for pane in self.query(StepPane):
            pane.show(self.odatui.model.steps[pane.step_id], now)
        self._refresh_overall()
        self._refresh_detail()

    def refresh_step(self, view: StepView | None) -> None:
        if view is not None:
            for index, pane in enumerate(self.query(StepPane)):
                if pane.step_id == view.step_id:
                    pane.show(view, self.odatui.model.clock())
                    self._draw_attention(view, index)
        self._refresh_overall()
        self._refresh_detail()

    def _draw_attention(self, view: StepView, index: int) -> None:
        """A step that needs the admin gets selected, unless the admin is already looking at such a step; until the
        admin picks a step, the details follow the step that is running."""
        current = self.selected()
        if view.status in ("needs-action", "failed"):
            if current is None or current.status not in ("needs-action", "failed"):
                self._select(view.step_id, index)
        elif view.status == "running" and not self._picked:
            if current is None or current.status not in ("needs-action", "failed", "running"):
                self._select(view.step_id, index)

    def _select(self, step_id: str, index: int) -> None:
        self._auto_pending.add(step_id)  # our own move: the Highlighted it causes is not the admin's pick
        self.query_one("#steps", ListView).index = index

    def _tick(self) -> None:
        now = self.odatui.model.clock()
        for pane in self.query(StepPane):
            view = self.odatui.model.steps[pane.step_id]
            if view.status in ("running", "retrying", "needs-action"):
                pane.show(view, now)

    def _refresh_overall(self) -> None:
        model = self.odatui.model
        self.query_one("#overall", ProgressBar).update(progress=round(model.done_fraction() * 100))
        self.query_one("#headline", Static).update(model.headline())
        finished = model.finished is not None and not self.odatui.running
        self.query_one("#retry-failed").display = bool(model.failed()) and finished
        self.query_one("#results").display = finished
        self.refresh_bindings()

    def _refresh_detail(self) -> None:
        view = self.selected()
        detail = self.query_one("#detail", Vertical)
        if view is None:
            return
        detail.border_title = f"{view.glyph} {view.title}"
        attempts = f" · attempt {view.attempt}" if view.attempt > 1 else ""
        word = f"last run: {view.word} (not run yet this time)" if view.last_run else view.word
        self.query_one("#detail-status", Static).update(f"{word}{attempts}\n{view.summary}".rstrip())
        error = self.query_one("#detail-error", Static)
        if view.status in ("failed", "retrying", "cancelled") and view.error:
            text = f"✗ {view.error}"
            if view.hint:
                text += f"\n→ Fix: {view.hint}"
            if view.status in ("failed", "cancelled"):
                text += "\nPress r to retry this step."
            error.update(text)
            error.display = True
        else:
            error.display = False
        action = self.query_one("#detail-action", Static)
        if view.status == "needs-action":
            polling = "odatui checks again by itself" + (
                f" (next check in about {view.next_check_in:.0f}s)" if view.next_check_in else "")
            if not view.polling:
                polling = "not checking by itself: press c after you are done"
            extra = "\nDemo: press a to do the admin's part in the sandbox." if self.odatui.demo else ""
            action.update(f"! What to do:\n{view.action}\n\n⧗ {polling}. Press c to check now.{extra}")
            action.display = True
        else:
            action.display = False
        self.query_one("#detail-log", Static).update("\n".join(view.log) or "(no log lines yet)")
        self.query_one("#retry").display = view.status in ("failed", "cancelled", "skipped")
        self.query_one("#check").display = view.status == "needs-action"
        self.query_one("#simulate").display = view.status == "needs-action" and self.odatui.demo
        self.refresh_bindings()

    def on_list_view_highlighted(self, event: ListView.Highlighted) -> None:
        item = event.item
        if isinstance(item, StepPane):
            if item.step_id in self._auto_pending:
                self._auto_pending.discard(item.step_id)
            else:
                self._picked = True  # the admin chose this step: stop following the running one
        self._refresh_detail()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        view = self.selected()
        model = self.odatui.model
        if action == "retry":
            return view is not None and view.status in ("failed", "cancelled", "skipped")
        if action == "check_now":
            return view is not None and view.status == "needs-action"
        if action == "simulate_admin":
            return self.odatui.demo and view is not None and view.status == "needs-action"
        if action == "retry_failed":
            return bool(model.failed()) and not self.odatui.running
        if action == "results":
            return model.finished is not None and not self.odatui.running
        return True

    # --- actions ---
    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        actions = {"retry": self.action_retry, "check": self.action_check_now, "simulate": self.action_simulate_admin,
                   "retry-failed": self.action_retry_failed, "results": self.action_results}
        actions[event.button.id]()

    def action_retry(self) -> None:
        view = self.selected()
        if view is not None and view.status in ("failed", "cancelled", "skipped"):
            self.odatui.retry_step(view.step_id)

    def action_retry_failed(self) -> None:
        self.odatui.retry_failed()

    def action_check_now(self) -> None:
        view = self.selected()
        if view is not None and view.status == "needs-action":
            self.odatui.check_now(view.step_id)

    def action_simulate_admin(self) -> None:
        view = self.selected()
        if view is not None and view.status == "needs-action" and self.odatui.demo:
            self.odatui.simulate_admin(view.step_id)

    def action_results(self) -> None:
        if self.odatui.model.finished is not None and not self.odatui.running:
            self.odatui.show_done()
