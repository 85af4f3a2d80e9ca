"""Okta: the org URL, how odatui reaches the Okta API, and the groups that get the Platform SSO app."""

from __future__ import annotations


from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, Select

from odatui.core.domain import OKTA_SCOPES
from odatui.tui.screens.base import ConnectionScreen
from odatui.tui.validators import ConfigField, NoControlChars, ReadableFile, SecretPresent, groups_from_text
from odatui.tui.widgets.field import Choice, Field, FieldInput, SecretInput

AUTH_KINDS = (
    ("api_token", "API token (SSWS)"),
    ("service_app", "OAuth service app + private key"),
    ("none", "none: type the app's client ID"),
)


class OktaScreen(ConnectionScreen):
    TABLE, AUTH_SELECT, PREFLIGHT, FIRST_FIELD, DEFAULT_AUTH = "okta", "okta-auth", "preflight.okta", "org_url", "api_token"
    TITLE_TEXT = "Okta"
    EXCERPT = "Your Okta org, how odatui may read it, and the groups that get the app."
    HELP = """\
# Okta

* **Org URL**: `https://<org>.okta.com` or your custom domain — not the `-admin` console host.
* **Access**:
  * *API token*: a token of an admin with app and group rights (Security › API › Tokens).
  * *OAuth service app*: an API Services app, client authentication private_key_jwt, granted the scopes
    `{scopes}`; give its client ID and the private key file (PEM or JWK).
  * *No API access*: odatui cannot look the app up; type the **Platform Single Sign-On for macOS**
    app's client ID from its *Sign On* tab, and confirm the Okta checklist yourself.
* **Groups**: comma-separated Okta group names to assign the app to, e.g. `Mac Pilot`.
* **Device Access SCEP** (Platform SSO 2.0, macOS 14+; Okta has no API for it): in the Admin Console go to
  *Security › Device Integrations › Device Access* tab › **Add SCEP configuration** › SCEP URL challenge type
  **Static SCEP URL** › **Generate**; copy the **SCEP URL** and the **Secret key** (shown only this once) › Save.
  The secret key goes to the keychain. If another profile already deploys that certificate, set
  `[rollout] scep = "elsewhere"` in the answers file instead.

**Test connection** checks the org (Identity Engine, Okta Verify active) with what you typed.""".format(
        scopes=" ".join(OKTA_SCOPES))

    def _okta(self):
        return self.session.config.okta

    def compose_form(self) -> ComposeResult:
        cfg = self.session.config.okta if self.session.config is not None else None
        yield Field("Okta org URL", FieldInput(
            value=cfg.org_url if cfg else "", placeholder="https://acme.okta.com", id="org_url",
            validators=[ConfigField("okta", "org_url", self._okta, label="Okta org URL", required=True)]),
            hint="your org or custom domain, not the -admin host")
        yield Choice("API access", Select([(text, kind) for kind, text in AUTH_KINDS], value=self.auth,
                                          allow_blank=False, id="okta-auth"))
        with Vertical(id="group-api_token", classes="auth-group"):
            yield Field("API token", SecretInput(
                value=self.session.secret("okta.api_token"), id="api_token",
                validators=[SecretPresent("API token", lambda: self.auth == "api_token")]),
                hint="goes to the keychain, never to the answers file")
        with Vertical(id="group-service_app", classes="auth-group"):
            yield Field("Service app ID", FieldInput(
                value=cfg.service_app_client_id if cfg else "", placeholder="0oa…", id="service_app_client_id",
                validators=[ConfigField("okta", "service_app_client_id", self._okta, label="Service app ID",
                                        required=True)]))
            yield Field("Private key file", FieldInput(
                placeholder="~/okta-service-app.pem", id="private_key_file",
                validators=[ReadableFile("Private key file", lambda: self.auth == "service_app"
                                         and not self.session.secret("okta.private_key"))]),
                hint="PEM or JWK; its content goes to the keychain")
        with Vertical(id="group-none", classes="auth-group"):
            yield Field("App client ID", FieldInput(
                value=cfg.client_id if cfg else "", placeholder="0oa…", id="client_id",
                validators=[ConfigField("okta", "client_id", self._okta, label="Client ID", required=True)]),
                hint="from the Platform Single Sign-On for macOS app's Sign On tab")
        yield Field("Okta groups", FieldInput(
            value=", ".join(cfg.groups) if cfg else "", placeholder="Mac Pilot, IT", id="groups",
            validators=[ConfigField("okta", "groups", self._okta, label="Okta groups", required=True,
                                    convert=groups_from_text)]),
            hint="comma-separated group names that get the app")
        yield Field("SCEP URL", FieldInput(
            value=cfg.scep_url if cfg else "", placeholder="https://acme.okta.com/pki/…", id="scep_url",
            validators=[ConfigField("okta", "scep_url", self._okta, label="SCEP URL")]),
            hint="Device Access › Static SCEP URL (macOS 14+); see Help")
        yield Field("SCEP secret key", SecretInput(
            value=self.session.secret("okta.scep_challenge"), id="scep_challenge",
            validators=[NoControlChars("SCEP secret key")]),
            hint="shown once by Okta; goes to the keychain")
        yield from self.compose_test_row()

    def collect(self) -> dict[str, str]:
        okta = self.session.config.okta
        okta.auth = self.auth
        okta.org_url = self.query_one("#org_url", Input).value
        okta.groups = groups_from_text(self.query_one("#groups", Input).value)
        okta.scep_url = self.query_one("#scep_url", Input).value.strip()
        secrets: dict[str, str] = {"okta.scep_challenge": self.query_one("#scep_challenge", Input).value}
        if self.auth == "api_token":
            secrets["okta.api_token"] = self.query_one("#api_token", Input).value
        elif self.auth == "service_app":
            okta.service_app_client_id = self.query_one("#service_app_client_id", Input).value
            key_file = self.query_one("#private_key_file", Input).value.strip()
            if key_file:
                from odatui.core.errors import OdatuiError
                from odatui.core.files import SECRET_LIMIT, read_text_bounded

                try:  # a regular file of at most 64 KiB (a FIFO or /dev/zero is refused, not waited on)
                    secrets["okta.private_key"] = read_text_bounded(key_file, limit=SECRET_LIMIT,
                                                                    what="private key file")
                except OdatuiError as exc:
                    self.notify(str(exc), title="Private key file", severity="error", markup=False)
        else:
            okta.client_id = self.query_one("#client_id", Input).value
        return secrets
