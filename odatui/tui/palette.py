"""The command palette's odatui commands (Ctrl+P): retry failed, export profiles, support bundle, remove."""

from __future__ import annotations

import time
from collections.abc import Iterable

from textual import work
from textual.app import SystemCommand
from textual.screen import Screen


class PaletteCommands:
    """Mixed into OdatuiApp, before textual's App: its get_system_commands adds odatui's to Textual's own."""

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Retry failed steps", "Run every failed step again", self.retry_failed)
        yield SystemCommand("Export profiles", "Write the .mobileconfig files for any MDM", self.export_profiles)
        yield SystemCommand("Support bundle", "Zip the redacted config, run state and logs", self.support_bundle)
        yield SystemCommand("Remove what odatui created", "Plan, then undo this target's rollout (odatui remove)",
                            self.remove_rollout)
        # The theme: Textual's own "Theme" command (above); the choice is kept by watch_theme.

    @work(exclusive=True, exit_on_error=False, group="remove")
    async def remove_rollout(self) -> None:
        """The palette's `odatui remove`: the same plan text, a confirmation, then the removal."""
        from odatui.tui.screens.modals import ConfirmScreen  # deferred: start-up

        if self.session.config is None or self.running:
            self.notify("Finish or stop the current run first.", severity="warning")
            return
        try:
            plan = await self.session.removal_plan()
        except Exception as exc:  # a readable line, never a traceback on screen
            from odatui.service.messages import readable  # deferred: start-up (pulls in the engine)
            self.notify(readable(exc, "remove: plan"), title="Remove: plan failed", severity="error", timeout=15,
                        markup=False)
            return
        if not plan.to_delete or not plan.checked:
            if plan.items and plan.checked:  # only objects deleted by hand: forget them
                await self.session.remove()
            self.notify(plan.text.strip().splitlines()[-1], title="Remove")
            return
        question = plan.text + "\nRemove these from the tenant?"
        if not await self.push_screen_wait(ConfirmScreen(question, yes="Remove", no="Keep")):
            return
        try:
            failed, report = await self.session.remove()
        except Exception as exc:
            from odatui.service.messages import readable  # deferred: start-up (pulls in the engine)
            self.notify(readable(exc, "remove"), title="Remove failed", severity="error", timeout=15, markup=False)
            return
        self.notify(report.strip() or "done", title="Removed" if not failed else "Remove: some items failed",
                    severity="information" if not failed else "error", timeout=15)
        from odatui.tui.screens.done import DoneScreen  # deferred: start-up

        if isinstance(self.screen, DoneScreen):  # it said "Rollout configured": say what is true now
            self.screen.show_removed(failed, report)

    @work(thread=True, exit_on_error=False, group="export")
    def export_profiles(self) -> None:
        if self.session.config is None:
            return
        try:
            paths = self.session.export_profiles()
            folder = self.display_path(paths[0].parent) if paths else "?"
            self.call_from_thread(self.notify, f"{len(paths)} files in {folder}", title="Profiles exported")
        except Exception as exc:
            from odatui.service.messages import readable  # deferred: start-up (pulls in the engine)
            self.call_from_thread(self.notify, readable(exc, "export"), title="Export failed", severity="error",
                                  timeout=15, markup=False)

    @work(thread=True, exit_on_error=False, group="bundle")
    def support_bundle(self) -> None:
        from odatui.core.paths import state_dir  # deferred: start-up

        out = state_dir() / f"odatui-support-{time.strftime('%Y%m%d-%H%M%S')}.zip"
        try:
            self.session.write_bundle(out)
            self.call_from_thread(self.notify, f"Written to {self.display_path(out)}", title="Support bundle")
        except Exception as exc:
            from odatui.service.messages import readable  # deferred: start-up (pulls in the engine)
            self.call_from_thread(self.notify, readable(exc, "support bundle"), title="Support bundle failed",
                                  severity="error", markup=False)

