"""Workspace ONE: the API host, how odatui signs in, the organization group and the smart group of Macs."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Select, Static

from odatui.core.config_waves import WaveConfig
from odatui.tui.screens.base import ConnectionScreen
from odatui.tui.screens.modals import ConfirmScreen
from odatui.tui.validators import ConfigField, SecretPresent
from odatui.tui.widgets.field import Choice, Field, FieldInput, SecretInput

REGIONS = (("North America (na)", "na"), ("Europe (emea)", "emea"), ("Asia Pacific (apac)", "apac"), ("UAT (uat)", "uat"))


class Ws1Screen(ConnectionScreen):
    TABLE, AUTH_SELECT, PREFLIGHT, FIRST_FIELD, DEFAULT_AUTH = "ws1", "ws1-auth", "preflight.ws1", "api_url", "basic"
    TITLE_TEXT = "Workspace ONE UEM"
    EXCERPT = "The REST API host, an admin account for it, and the Macs to set up."
    HELP = """\
# Workspace ONE UEM

* **API URL**: the API host `https://asNNNN.awmdm.com` — not the console (`cnNNNN`).
* **Sign-in**:
  * *Basic*: an API admin's user name and password plus the REST API key (*tenant code*) from
    Groups & Settings › All Settings › System › Advanced › API › REST API.
  * *OAuth*: a client from Groups & Settings › Configurations › OAuth Client Management, and its region.
* **Group ID**: the organization group's *Group ID* (not its name).
* **Smart group**: the exact name of the smart group holding the pilot Macs. Waves: several names separated
  by `;` (e.g. `Okta PSSO Pilot; Okta PSSO Macs`); the app and the profile cover exactly those groups.

**Test connection** signs in and finds the organization group and smart group."""

    def _ws1(self):
        return self.session.config.ws1

    def compose_form(self) -> ComposeResult:
        cfg = self.session.config.ws1
        yield Field("API URL", FieldInput(
            value=cfg.api_url, placeholder="https://as1234.awmdm.com", id="api_url",
            validators=[ConfigField("ws1", "api_url", self._ws1, label="API URL", required=True)]),
            hint="the API host (as…), not the console (cn…)")
        yield Choice("Sign-in", Select([("Basic: user, password, tenant code", "basic"), ("OAuth client", "oauth")],
                                       value=self.auth, allow_blank=False, id="ws1-auth"))
        with Vertical(id="group-basic", classes="auth-group"):
            yield Field("User name", FieldInput(
                value=cfg.username, id="username",
                validators=[ConfigField("ws1", "username", self._ws1, label="User name", required=True)]))
            yield Field("Password", SecretInput(
                value=self.session.secret("ws1.password"), id="password",
                validators=[SecretPresent("Password", lambda: self.auth == "basic")]))
            yield Field("Tenant code", SecretInput(
                value=self.session.secret("ws1.tenant_code"), id="tenant_code",
                validators=[SecretPresent("Tenant code", lambda: self.auth == "basic")]),
                hint="secrets go to the keychain, never to the answers file")
        with Vertical(id="group-oauth", classes="auth-group"):
            yield Field("OAuth client ID", FieldInput(
                value=cfg.oauth_client_id, id="oauth_client_id",
                validators=[ConfigField("ws1", "oauth_client_id", self._ws1, label="OAuth client ID", required=True)]))
            yield Field("OAuth secret", SecretInput(
                value=self.session.secret("ws1.client_secret"), id="client_secret",
                validators=[SecretPresent("Client secret", lambda: self.auth == "oauth")]))
            yield Choice("Token region", Select(REGIONS, value=cfg.oauth_region, allow_blank=False,
                                                id="oauth_region"))
        yield Field("Group ID", FieldInput(
            value=cfg.group_id, placeholder="ACME", id="group_id",
            validators=[ConfigField("ws1", "group_id", self._ws1, label="Group ID", required=True)]))
        yield Field("Smart group", FieldInput(
            value="; ".join(w.smart_group for w in self.session.config.waves()), placeholder="Okta PSSO Macs",
            id="smart_group",
            validators=[ConfigField("ws1", "smart_group", self._ws1, label="Smart group", required=True)]),
            hint="exact name of the smart group with the Macs")
        yield from self.compose_test_row()

    def collect(self) -> dict[str, str]:
        ws1 = self.session.config.ws1
        ws1.auth = self.auth
        ws1.api_url = self.query_one("#api_url", Input).value
        ws1.group_id = self.query_one("#group_id", Input).value
        names = [n.strip() for n in self.query_one("#smart_group", Input).value.split(";") if n.strip()]
        rollout = self.session.config.rollout
        ws1.smart_groups = []  # the older form of waves is read, never written
        if len(names) > 1:  # waves, `; `-separated: written as [[rollout.waves]] (with gates), keeping what a
            # wave already had (serials, Okta groups, start) when its smart group is listed again
            known = {w.smart_group: w for w in rollout.waves}
            rollout.waves = [known.get(n) or WaveConfig(name=n, smart_group=n) for n in names]
            ws1.smart_group = ""
        else:
            rollout.waves = []
            ws1.smart_group = names[0] if names else ""
        if self.auth == "basic":
            ws1.username = self.query_one("#username", Input).value
            return {"ws1.password": self.query_one("#password", Input).value,
                    "ws1.tenant_code": self.query_one("#tenant_code", Input).value}
        ws1.oauth_client_id = self.query_one("#oauth_client_id", Input).value
        ws1.oauth_region = self.query_one("#oauth_region", Select).value
        return {"ws1.client_secret": self.query_one("#client_secret", Input).value}

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
