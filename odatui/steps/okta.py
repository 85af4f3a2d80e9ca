"""The Okta side: `preflight.okta` (org, engine, credentials, Okta Verify), `okta.app` (find the PSSO app and read
its client ID) and `okta.assign` (assign the configured groups). With `okta.auth = "none"` the API steps become a
checklist of Admin Console clicks and the typed client ID is used. Okta: "Configure device configuration
profiles for PSSO using Workspace ONE", help.okta.com/oie/en-us/content/topics/oda/macos-pw-sync/
configure-macos-psso-omnissa.htm.
"""

from __future__ import annotations

from odatui.steps.okta_app import OktaApp
from odatui.steps.okta_assign import OktaAssign
from odatui.steps.okta_preflight import PreflightOkta

STEPS = [PreflightOkta(), OktaApp(), OktaAssign()]
