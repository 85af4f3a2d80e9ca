"""One Textual message per engine event kind (odatui.core.events), so the app handles each with its own `on_…` method.
Posted from the engine's callback (thread-safe, in the engine's order); the event itself rides along for the
run model's fold."""

from __future__ import annotations

from typing import Any

from textual.message import Message

from odatui.core import events as ev


class EngineMessage(Message):
    """Base of the engine's messages (never posted itself)."""

    def __init__(self, event: Any) -> None:
        super().__init__()
        self.event = event


class StepStarted(EngineMessage):
    pass


class StepProgress(EngineMessage):
    pass


class StepLog(EngineMessage):
    pass


class StepNeedsAction(EngineMessage):
    pass


class StepSucceeded(EngineMessage):
    pass


class StepFailed(EngineMessage):
    pass


class StepSkipped(EngineMessage):
    pass


class StepCancelled(EngineMessage):
    pass


class RunFinished(EngineMessage):
    pass


FOR_EVENT: dict[type, type[EngineMessage]] = {
    ev.StepStarted: StepStarted, ev.StepProgress: StepProgress, ev.StepLog: StepLog,
    ev.StepNeedsAction: StepNeedsAction, ev.StepSucceeded: StepSucceeded, ev.StepFailed: StepFailed,
    ev.StepSkipped: StepSkipped, ev.StepCancelled: StepCancelled, ev.RunFinished: RunFinished,
}


def message_for(event: Any) -> EngineMessage:
    return FOR_EVENT[type(event)](event)
