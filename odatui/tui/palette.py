"""The command palette's odatui commands (Ctrl+P): retry failed, export profiles, support bundle, remove. A plain
object the app owns (`app.palette`); the app's get_system_commands adds these to Textual's own."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from textual.app import SystemCommand


class PaletteCommands:
    def __init__(self, app: Any) -> None:
        self.app = app

    def commands(self) -> Iterable[SystemCommand]:
        yield SystemCommand("Retry failed steps", "Run every failed step again", self.app.runs.retry_failed)
        yield SystemCommand("Export profiles", "Write the .mobileconfig files for any MDM", self.export_profiles)
        yield SystemCommand("Support bundle", "Zip the redacted config, run state and logs", self.support_bundle)
        yield SystemCommand("Remove what odatui created", "Plan, then undo this target's rollout (odatui remove)",
                            self.remove_rollout)
        # The theme: Textual's own "Theme" command; the choice is kept by the app's watch_theme.

    def remove_rollout(self) -> None:
        self.app.run_worker(self._remove_rollout(), exclusive=True, group="remove", exit_on_error=False)

    async def _remove_rollout(self) -> None:
        """The palette's `odatui remove`: the same plan text, a confirmation, then the removal."""
        from odatui.tui.screens.modals import ConfirmScreen  # deferred: start-up

        app, session = self.app, self.app.session
        if session.config is None or app.running:
            app.notify("Finish or stop the current run first.", severity="warning")
            return
        try:
            plan = await session.removal_plan()
        except Exception as exc:  # a readable line, never a traceback on screen
            from odatui.service.messages import readable  # deferred: start-up (pulls in the engine)
            app.notify(readable(exc, "remove: plan"), title="Remove: plan failed", severity="error", timeout=15,
                       markup=False)
            return
        if not plan.to_delete or not plan.checked:
            if plan.items and plan.checked:  # only objects deleted by hand: forget them
                await session.remove()
            app.notify(plan.text.strip().splitlines()[-1], title="Remove")
            return
        question = plan.text + "\nRemove these from the tenant?"
        if not await app.push_screen_wait(ConfirmScreen(question, yes="Remove", no="Keep")):
            return
        try:
            failed, report = await session.remove()
        except Exception as exc:
            from odatui.service.messages import readable  # deferred: start-up (pulls in the engine)
            app.notify(readable(exc, "remove"), title="Remove failed", severity="error", timeout=15, markup=False)
            return
        app.notify(report.strip() or "done", title="Removed" if not failed else "Remove: some items failed",
                   severity="information" if not failed else "error", timeout=15)
        from odatui.tui.screens.done import DoneScreen  # deferred: start-up

        if isinstance(app.screen, DoneScreen):  # it said "Rollout configured": say what is true now
            app.screen.show_removed(failed, report)

    def export_profiles(self) -> None:
        self.app.run_worker(self._export_profiles, thread=True, group="export", exit_on_error=False)

    def _export_profiles(self) -> None:
        app = self.app
        if app.session.config is None:
            return
        try:
            paths = app.session.export_profiles()
            folder = app.display_path(paths[0].parent) if paths else "?"
            app.call_from_thread(app.notify, f"{len(paths)} files in {folder}", title="Profiles exported")
        except Exception as exc:
            from odatui.service.messages import readable  # deferred: start-up (pulls in the engine)
            app.call_from_thread(app.notify, readable(exc, "export"), title="Export failed", severity="error",
                                 timeout=15, markup=False)

    def support_bundle(self) -> None:
        self.app.run_worker(self._support_bundle, thread=True, group="bundle", exit_on_error=False)

    def _support_bundle(self) -> None:
        from odatui.core.paths import state_dir  # deferred: start-up

        app = self.app
        out = state_dir() / f"odatui-support-{time.strftime('%Y%m%d-%H%M%S')}.zip"
        try:
            app.session.write_bundle(out)
            app.call_from_thread(app.notify, f"Written to {app.display_path(out)}", title="Support bundle")
        except Exception as exc:
            from odatui.service.messages import readable  # deferred: start-up (pulls in the engine)
            app.call_from_thread(app.notify, readable(exc, "support bundle"), title="Support bundle failed",
                                 severity="error", markup=False)
