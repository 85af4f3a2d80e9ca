"""Review: every answer (secrets masked) and the engine's plan — what each step will create or change — before
anything is touched. Start runs the plan; a target with a previous run first asks resume or which steps."""

from __future__ import annotations

import asyncio
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.widgets import DataTable, Static

from odatui.core.errors import UsageError
from odatui.tui.screens.base import WizardScreen

ACTION_TEXT = {"create": "+ create", "update": "~ update", "replace": "± replace", "none": "= no change", "needs-action": "! by hand"}
MASK = "●●●●●●●●"


def settings_lines(session: Any) -> list[str]:
    from pathlib import Path

    c = session.config
    okta, ws1, ro = c.okta, c.ws1, c.rollout
    if okta.auth == "api_token":
        access = f"API token {MASK} ({session.secret_source('okta.api_token')})"
    elif okta.auth == "service_app":
        access = f"service app {okta.service_app_client_id} + key {MASK}"
    else:
        access = f"no API; app {okta.client_id}"
    if ws1.auth == "basic":
        login = f"{ws1.username} {MASK} ({session.secret_source('ws1.password')})"
    else:
        login = f"OAuth {ws1.oauth_client_id} ({ws1.oauth_region}) {MASK}"
    return [
        f"Okta     {okta.host} · {access} · groups {', '.join(okta.groups) or '–'}",
        f"WS1      {ws1.api_url.removeprefix('https://')} · {ws1.group_id} · {', '.join(f'“{n}”' for n in ws1.wave)} · {login}",
        f"Rollout  {Path(ro.package).name} · macOS {ro.macos_min}+ · profile “{ro.profile_name}”",
    ]


def refused_text(exc: UsageError) -> str:
    return f"✗ Start refused, as `odatui apply` refuses it: {exc}\nNothing was sent. Go back (Esc) to fix it."


class ReviewScreen(WizardScreen):
    TITLE_TEXT = "Review"
    EXCERPT = "Nothing has changed yet: this plan comes from reading your tenants."
    NEXT_LABEL = "Start"
    NEXT_IS_A_FORM = False  # Start opens the run (or a question), not another form
    HELP = """\
# Review

The plan comes from looking at your tenants now (read-only):

* **+ create** — the object does not exist and will be created.
* **~ update** — it exists but differs; it will be updated.
* **± replace** — renamed: the new one is created, then the old one odatui created is removed.
* **= no change** — it already matches; the step adopts it.
* **! your action** — odatui cannot do this through the API; the run screen shows the exact clicks.

**Readiness warnings** under the plan do not stop the run: users of the groups without an Okta password or not
active, a custom domain odatui does not use, Macs below the macOS floor or without user-approved MDM.

The line under the table shows the highlighted step's whole text (**Tab** to the table, **↑/↓** to move).
Secrets are shown masked. **Start** runs the steps; you can retry any failed step there. Start first runs the
checks `odatui apply` runs: answers the command line would refuse are named here and nothing is sent."""

    def compose_form(self) -> ComposeResult:
        yield Static("\n".join(settings_lines(self.session)), id="settings")
        yield Static("⧗ Looking at your tenants to build the plan…", id="plan-status")
        table = DataTable(id="plan", cursor_type="row", zebra_stripes=False)
        yield table
        # Readiness warnings (users without a password, Macs below the floor…): shown only when there are some.
        warnings = Static("", id="plan-warnings")
        warnings.display = False
        yield warnings
        # The "What" column is cut at the screen's edge; the highlighted row's whole text is always shown here.
        yield Static("", id="plan-detail")

    def on_mount(self) -> None:
        super().on_mount()
        table = self.query_one("#plan", DataTable)
        table.add_column("Step", key="step")  # as wide as the longest title: step names are never cut
        table.add_column("Plan", key="plan", width=12)
        table.add_column("What", key="what")
        self.query_one("#next").focus()
        self.build_plan()

    @work(exclusive=True, group="plan", exit_on_error=False)
    async def build_plan(self) -> None:
        status = self.query_one("#plan-status", Static)
        session = self.session
        try:
            head = ""
            if self.odatui.demo:
                await asyncio.to_thread(session.save)
                head = "Answers kept in the sandbox."
            elif not session.file_existed:  # the wizard creates the file: nothing of the admin's to overwrite
                head = f"Answers saved to {self.odatui.display_path(await asyncio.to_thread(session.save))}."
            elif changed := session.unsaved():
                head = (f"{len(changed)} changed answer(s) not written yet: Start asks before "
                        f"{self.odatui.display_path(session.config_path or '')} is touched.")
            rows = await self.odatui.plan_rows()
        except UsageError as exc:  # what `odatui plan` / `apply` refuse (exit 2): Start is refused with it too
            status.update(refused_text(exc))
            return
        except Exception as exc:  # shown, never a traceback: the admin may still go back and fix
            status.update(f"✗ could not build the plan: {exc}")
            return
        self.show_plan(rows)
        problems = sum(1 for r in rows if getattr(r, "error", None))
        head = f"{head} " if head else ""
        if problems:
            status.update(f"{head}! {problems} step(s) show a problem (✗): fix it, or start and retry in place.")
        else:
            status.update(f"{head}Press Start to make these changes.")

    def show_plan(self, rows: list[Any]) -> None:
        table = self.query_one("#plan", DataTable)
        table.clear()
        self._full: dict[str, str] = {}
        for row in rows:
            change = getattr(row, "change", None)
            error = getattr(row, "error", None)
            if error:
                plan, what = "✗ problem", f"{error}" + (f" → {row.hint}" if getattr(row, "hint", None) else "")
            elif change is not None:
                kind = getattr(change.kind, "value", change.kind)
                plan, what = ACTION_TEXT.get(kind, kind), change.summary
            else:
                needs = ", ".join(getattr(row, "needs", ()) or ())
                plan, what = "· later", f"planned once {needs} has run" if needs else "decided at run time"
            table.add_row(row.title, plan, what, key=row.step_id)
            self._full[row.step_id] = f"{row.title} · {plan}: {what}"
        warnings = [w for row in rows for w in (getattr(getattr(row, "change", None), "warnings", ()) or ())]
        box = self.query_one("#plan-warnings", Static)
        box.update("Readiness warnings (they do not stop the run):\n" + "\n".join(f"! {w}" for w in warnings))
        box.display = bool(warnings)
        self._show_detail(table.cursor_row)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail(event.cursor_row)

    def _show_detail(self, index: int) -> None:
        table = self.query_one("#plan", DataTable)
        if not table.row_count or not 0 <= index < table.row_count:
            return
        key = table.coordinate_to_cell_key((index, 0)).row_key.value
        more = "" if table.has_focus else "   (Tab to the plan, ↑/↓ for each step)"
        self.query_one("#plan-detail", Static).update(f"▸ {self._full.get(key or '', '')}{more}")

    def on_descendant_focus(self) -> None:
        table = self.query_one("#plan", DataTable)
        self._show_detail(table.cursor_row)

    def on_descendant_blur(self) -> None:
        self.on_descendant_focus()

    def commit(self) -> None:
        self._check_then_start()

    @work(exclusive=True, group="start", exit_on_error=False)
    async def _check_then_start(self) -> None:
        """The service's checks first, as `odatui apply` runs them: a config the CLI refuses never starts here
        (nothing is sent), and the screen says why in the CLI's words."""
        try:
            await asyncio.to_thread(self.session.check_start)
        except UsageError as exc:
            self.query_one("#plan-status", Static).update(refused_text(exc))
            self.notify(exc.message, title="Start refused", severity="error", timeout=10)
            return
        except Exception as exc:  # noqa: BLE001 - shown, never a traceback; nothing starts unchecked
            self.query_one("#plan-status", Static).update(f"✗ could not check the answers: {exc}")
            return
        if self.session.must_ask_to_save():
            self._ask_to_save_then_run()
        else:
            self.odatui.ask_resume_then_run()

    @work(exclusive=True, group="save-answers", exit_on_error=False)
    async def _ask_to_save_then_run(self) -> None:
        """The config file is the admin's: their changes go into it only when they say so."""
        choice = await self.odatui.ask_to_save("Start the run", "Run without saving")
        if choice is not None:
            self.odatui.ask_resume_then_run()
