"""The sandbox's fixed demo credentials and names, below every other sandbox module (the emulators check them,
the server and the CLI hand them out). They are accepted only by the sandbox and are not secrets."""

OKTA_TOKEN = "sandbox-okta-token"
WS1_USER = "sandbox-admin"
WS1_PASSWORD = "sandbox-password"
WS1_TENANT_CODE = "sandbox-tenant-code"
WS1_OAUTH_CLIENT_ID = "sandbox-oauth-client"
WS1_OAUTH_SECRET = "sandbox-oauth-secret"
# The Device Access SCEP secret key the demo uses (a demo credential like the others; no SCEP server runs here:
# only Macs talk to Okta's SCEP URL, odatui never does).
OKTA_SCEP_CHALLENGE = "sandbox-scep-challenge"
WS1_GROUP_ID = "ACME"
WS1_SMART_GROUP = "Okta PSSO Macs"
OKTA_GROUPS = ("Mac Pilot", "Everyone")
