"""The MDM's page of the wizard (Workspace ONE UEM today): the fields its plug-in declares, drawn in order."""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Select, Static

from odatui.core.config_waves import WaveConfig
from odatui.tui.screens.base import ConnectionScreen
from odatui.tui.screens.modals import ConfirmScreen
from odatui.tui.validators import ConfigField, SecretPresent
from odatui.tui.widgets.field import Choice, Field, FieldInput, SecretInput

class MdmScreen(ConnectionScreen):
    """The MDM's page, drawn from the fields its plug-in declares (odatui.service.wizard.mdm_page), in order: a
    field of a sign-in kind sits in that kind's group, shown only while that kind is chosen."""

    _page: Any = None

    @property
    def page(self) -> Any:
        if self._page is None:
            from odatui.service.wizard import mdm_page  # deferred: start-up (the plug-in's declaration)

            self._page = mdm_page(self.session.config)
        return self._page

    @property
    def TABLE(self) -> str:  # noqa: N802 - ConnectionScreen's names
        return self._table_of(self.page.fields[0].key)

    @property
    def AUTH_SELECT(self) -> str:  # noqa: N802
        return next((f.id for f in self.page.fields if f.kind == "auth"), "")

    @property
    def PREFLIGHT(self) -> str:  # noqa: N802
        return self.page.preflight

    @property
    def FIRST_FIELD(self) -> str:  # noqa: N802
        return self.page.fields[0].id

    @property
    def DEFAULT_AUTH(self) -> str:  # noqa: N802
        return self.page.default_auth

    @property
    def TITLE_TEXT(self) -> str:  # noqa: N802
        return self.page.title

    @property
    def EXCERPT(self) -> str:  # noqa: N802
        return self.page.excerpt

    @property
    def HELP(self) -> str:  # noqa: N802
        return self.page.help

    @staticmethod
    def _table_of(key: str) -> str:
        return key.split(".", 1)[0]

    def _table(self) -> Any:
        return getattr(self.session.config, self.TABLE)

    def _widget(self, spec: Any) -> Any:
        """One field as the wizard draws it."""
        table = self._table()
        name = spec.key.split(".", 1)[1]
        if spec.kind == "secret":
            group = spec.group
            return Field(spec.label, SecretInput(
                value=self.session.secret(spec.key), id=spec.id,
                validators=[SecretPresent(spec.check or spec.label, lambda: self.auth == group)]), hint=spec.hint)
        if spec.kind == "auth":
            return Choice(spec.label, Select(spec.choices, value=self.auth, allow_blank=False, id=spec.id))
        if spec.kind == "choice":
            return Choice(spec.label, Select(spec.choices, value=getattr(table, name), allow_blank=False,
                                             id=spec.id))
        value = ("; ".join(w.smart_group for w in self.session.config.waves()) if spec.kind == "waves"
                 else getattr(table, name))
        return Field(spec.label, FieldInput(
            value=value, placeholder=spec.placeholder, id=spec.id,
            validators=[ConfigField(self.TABLE, name, self._table, label=spec.check or spec.label,
                                    required=spec.required)]), hint=spec.hint)

    def compose_form(self) -> ComposeResult:
        fields = list(self.page.fields)
        i = 0
        while i < len(fields):
            group = fields[i].group
            if not group:
                yield self._widget(fields[i])
                i += 1
                continue
            with Vertical(id=f"group-{group}", classes="auth-group"):
                while i < len(fields) and fields[i].group == group:
                    yield self._widget(fields[i])
                    i += 1
        yield from self.compose_test_row()

    def collect(self) -> dict[str, str]:
        """Write the shown fields into the config (the chosen sign-in kind's only); the secrets are returned."""
        table = self._table()
        secrets: dict[str, str] = {}
        for spec in self.page.fields:
            name = spec.key.split(".", 1)[1]
            if spec.kind == "auth":
                setattr(table, name, self.auth)
            elif spec.group and spec.group != self.auth:
                continue
            elif spec.kind == "secret":
                secrets[spec.key] = self.query_one(f"#{spec.id}", Input).value
            elif spec.kind == "choice":
                setattr(table, name, self.query_one(f"#{spec.id}", Select).value)
            elif spec.kind == "waves":
                self._collect_waves(table, name, self.query_one(f"#{spec.id}", Input).value)
            else:
                setattr(table, name, self.query_one(f"#{spec.id}", Input).value)
        return secrets

    def _collect_waves(self, table: Any, name: str, text: str) -> None:
        names = [n.strip() for n in text.split(";") if n.strip()]
        rollout = self.session.config.rollout
        setattr(table, name + "s", [])  # the older form of waves is read, never written
        if len(names) > 1:  # waves, `; `-separated: written as [[rollout.waves]] (with gates), keeping what a
            # wave already had (serials, Okta groups, start) when its group is listed again
            known = {w.smart_group: w for w in rollout.waves}
            rollout.waves = [known.get(n) or WaveConfig(name=n, smart_group=n) for n in names]
            setattr(table, name, "")
        else:
            rollout.waves = []
            setattr(table, name, names[0] if names else "")

    @work(exclusive=True, group="test-connection", exit_on_error=False)
    async def _test(self, step_id: str, target: Static) -> None:
        """Test connection; a smart group that does not exist can be created by odatui, after a confirmation."""
        ok, text = await self.session.test_connection(step_id)
        config = self.session.config
        if not ok and text.startswith("No smart group is named exactly") and not config.ws1.create_smart_groups:
            question = (f"{text.splitlines()[0]}\n\nodatui can create it when the rollout starts: the macOS devices "
                        f"of organization group {config.ws1.group_id} on macOS {config.rollout.macos_min} or later. "
                        "Create missing smart groups?")
            if await self.app.push_screen_wait(ConfirmScreen(question, yes="Create it", no="No")):
                config.ws1.create_smart_groups = True
                for wave in config.rollout.waves:  # gated waves say it per wave
                    wave.create = True
                ok, text = await self.session.test_connection(step_id)
        target.update(("✓ " if ok else "✗ ") + text)
        target.set_class(ok, "-ok")
        target.set_class(not ok, "-error")
        self.call_after_refresh(target.scroll_visible, animate=False)  # its new height is known after a refresh
