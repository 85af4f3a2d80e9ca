"""The line that says this is the sandbox, so nobody mistakes a demo for a real tenant."""

from __future__ import annotations

from textual.widgets import Static

SANDBOX_TEXT = "SANDBOX · built-in Okta + Workspace ONE emulators · nothing real is changed"


class SandboxBanner(Static):
    def __init__(self) -> None:
        super().__init__(SANDBOX_TEXT, id="sandbox-banner")
