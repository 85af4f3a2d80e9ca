"""Small dialogs: context help (F1), yes/no confirmation, and resume-or-choose for a target with a previous run."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Markdown, SelectionList, Static


DIALOG_CSS = str(Path(__file__).parent.parent / "dialogs.tcss")


class HelpScreen(ModalScreen[None]):
    CSS_PATH = DIALOG_CSS
    BINDINGS = [Binding("escape,f1,q", "close", "Close")]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(self.text)
            yield Static("Esc closes this help.", classes="field-hint")

    def on_mount(self) -> None:
        self.query_one("#help").focus()

    def action_close(self) -> None:
        self.dismiss(None)


class ConfirmScreen(ModalScreen[bool]):
    CSS_PATH = DIALOG_CSS
    BINDINGS = [Binding("escape,n", "answer(False)", "No"), Binding("y", "answer(True)", "Yes")]

    def __init__(self, question: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self.question, self.yes, self.no = question, yes, no

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.question, id="question")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.no, id="no")
                yield Button(self.yes, id="yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no").focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


def _last_run(status: str | None) -> str:
    """How a step ended in the previous run, said as the past: nothing has run yet in this session."""
    words = {"succeeded": "done", "unchanged": "already there", "failed": "failed", "needs-action": "needed you",
             "skipped": "skipped", "cancelled": "cancelled", "running": "stopped mid-step",
             "stale": "done, but the tenant no longer holds it"}
    return f"last run: {words.get(status or '', status)}" if status and status != "pending" else "never run"


class ResumeScreen(ModalScreen[tuple[str, list[str]] | None]):
    CSS_PATH = DIALOG_CSS
    """Previous run found: resume (only what is not done), re-run everything, or tick steps to re-run."""

    BINDINGS = [Binding("escape", "cancel", "Back")]

    def __init__(self, previous: dict[str, str], titles: dict[str, str]) -> None:
        super().__init__()
        self.previous, self.titles = previous, titles

    def compose(self) -> ComposeResult:
        done = [s for s, st in self.previous.items() if st == "succeeded"]
        open_ = [s for s in self.titles if self.previous.get(s) != "succeeded"]
        with Vertical(id="dialog"):
            yield Static(f"This target has a previous run: {len(done)} of {len(self.titles)} steps done.\n"
                         "Resume runs only what is not done; done steps keep their results.", id="question")
            yield SelectionList[str](*[(f"{self.titles[s]}  ({_last_run(self.previous.get(s))})", s, s in open_)
                                       for s in self.titles], id="choose")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Resume", id="resume", variant="primary")
                yield Button("Run ticked steps", id="only")
                yield Button("Re-run all", id="all")

    def on_mount(self) -> None:
        self.query_one("#resume").focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "resume":
            self.dismiss(("resume", [s for s in self.titles if self.previous.get(s) != "succeeded"]))
        elif event.button.id == "only":
            chosen = list(self.query_one("#choose", SelectionList).selected)
            if chosen:
                self.dismiss(("only", chosen))
            else:
                self.notify("Tick at least one step (Space), or choose Resume.", severity="warning")
        else:
            self.dismiss(("all", []))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChoiceScreen(ModalScreen[str | None]):
    """A question with several answers, one button each (e.g. save / discard / cancel); Esc is the last one."""

    CSS_PATH = DIALOG_CSS
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, question: str, choices: list[tuple[str, str]]) -> None:
        super().__init__()
        self.question, self.choices = question, choices  # [(id, label)], the first is the default

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.question, id="question")
            with Horizontal(classes="dialog-buttons"):
                for index, (choice_id, label) in enumerate(self.choices):
                    yield Button(label, id=f"choice-{choice_id}", variant="primary" if index == 0 else "default")

    def on_mount(self) -> None:
        self.query_one(Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss((event.button.id or "").removeprefix("choice-"))

    def action_cancel(self) -> None:
        self.dismiss(None)
