"""Workspace ONE's page of the wizard: the API host, how odatui signs in, the organization group and the smart group
of Macs (one per wave). The TUI draws whatever page the plug-in declares (odatui.tui.screens.mdm)."""

from __future__ import annotations

from odatui.mdm.wizard import WizardField, WizardPage

# The OAuth token hosts by region (Omnissa, "Workspace ONE UEM REST API: OAuth": na, emea, apac, uat).
REGIONS = (("North America (na)", "na"), ("Europe (emea)", "emea"), ("Asia Pacific (apac)", "apac"),
           ("UAT (uat)", "uat"))

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

PAGE = WizardPage(
    title="Workspace ONE UEM",
    excerpt="The REST API host, an admin account for it, and the Macs to set up.",
    help=HELP,
    preflight="preflight.ws1",
    default_auth="basic",
    fields=(
        WizardField("api_url", "API URL", "ws1.api_url", placeholder="https://as1234.awmdm.com",
                    hint="the API host (as…), not the console (cn…)", required=True),
        WizardField("ws1-auth", "Sign-in", "ws1.auth", kind="auth",
                    choices=(("Basic: user, password, tenant code", "basic"), ("OAuth client", "oauth"))),
        WizardField("username", "User name", "ws1.username", group="basic", required=True),
        WizardField("password", "Password", "ws1.password", kind="secret", group="basic"),
        WizardField("tenant_code", "Tenant code", "ws1.tenant_code", kind="secret", group="basic",
                    hint="secrets go to the keychain, never to the answers file"),
        WizardField("oauth_client_id", "OAuth client ID", "ws1.oauth_client_id", group="oauth", required=True),
        WizardField("client_secret", "OAuth secret", "ws1.client_secret", kind="secret", group="oauth",
                    check="Client secret"),
        WizardField("oauth_region", "Token region", "ws1.oauth_region", kind="choice", group="oauth",
                    choices=REGIONS),
        WizardField("group_id", "Group ID", "ws1.group_id", placeholder="ACME", required=True),
        WizardField("smart_group", "Smart group", "ws1.smart_group", kind="waves", placeholder="Okta PSSO Macs",
                    hint="exact name of the smart group with the Macs", required=True),
    ),
)
