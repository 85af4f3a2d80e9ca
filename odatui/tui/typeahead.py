"""Type-ahead across screens: keys typed right after Next (Ctrl+N) reach the next screen's first field.

Next replaces the screen in steps (check, keep the answers, maybe a keychain thread, then mount the new screen and
focus its first field). Keys the terminal delivers meanwhile would go to the old screen's field and be lost (0 of
44 characters at 0.1 s, issue 26). So from the moment Next is accepted until the new screen has focused its first
field, the App holds every key here, in order, and then hands them on exactly as it would have (priority
bindings first — a second Ctrl+N starts the next hold — then the focused widget), as subiquity's and
archinstall's forms keep keys typed ahead."""

from __future__ import annotations

from typing import Any

from textual import events

# Never hold a key longer than this (a screen that fails to mount must not swallow the keyboard): seconds.
HOLD_LIMIT = 5.0


class TypeAhead:
    def __init__(self, app: Any) -> None:
        self.app = app
        self._held: list[events.Key] | None = None
        self._timer: Any = None

    @property
    def holding(self) -> bool:
        return self._held is not None

    def hold(self) -> None:
        """Start holding keys (Next was accepted: a new screen is on its way)."""
        if self._held is None:
            self._held = []
            self._timer = self.app.set_timer(HOLD_LIMIT, self.release)

    def take(self, event: events.Event) -> bool:
        """True when `event` is a key kept for the next screen (the App does nothing more with it)."""
        if self._held is None or not isinstance(event, events.Key) or event.is_forwarded:
            return False
        self._held.append(event)
        return True

    async def release(self) -> None:
        """The new screen is ready (its first field focused), or the switch was refused: hand the keys on in order.
        A held Ctrl+N starts another switch; the keys after it are held again for the screen after that."""
        held, self._held = self._held or [], None
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        for n, key in enumerate(held):
            if self._held is not None:  # a held Next began the next switch: the rest waits for that screen
                self._held.extend(held[n:])
                return
            await self.app.deliver_key(key)
