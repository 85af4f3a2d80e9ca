"""The Okta side: `preflight.okta` (org, engine, credentials, Okta Verify), `okta.app` (find the PSSO app and read
its client ID) and `okta.assign` (assign the configured groups). With `okta.auth = "none"` the API steps become a
checklist of Admin Console clicks and the typed client ID is used. Okta: "Configure device configuration
profiles for PSSO using Workspace ONE", help.okta.com/oie/en-us/content/topics/oda/macos-pw-sync/
configure-macos-psso-omnissa.htm.
"""

from __future__ import annotations

from odatui.steps.okta_app import OktaApp, activate_action, manual_checklist
from odatui.steps.okta_assign import OktaAssign
from odatui.steps.okta_common import ADD_APP_ACTION, FORMER_LABEL, PSSO_LABEL, admin_error, explained
from odatui.steps.okta_preflight import PreflightOkta

STEPS = [PreflightOkta(), OktaApp(), OktaAssign()]

__all__ = ["STEPS", "PreflightOkta", "OktaApp", "OktaAssign", "ADD_APP_ACTION", "FORMER_LABEL", "PSSO_LABEL",
           "admin_error", "explained", "activate_action", "manual_checklist"]
