"""The Workspace ONE steps: preflight.ws1, ws1.upload, ws1.assign, ws1.certificate, ws1.profile.

Each `inspect` reads the tenant and says what `apply` would do, writing nothing; each `apply` looks again
first, so a re-run after a crash adopts what exists (the app of the same name and version, our assignment
rule, the profile of the same name) instead of duplicating it.
"""

from __future__ import annotations

from odatui.mdm.ws1.steps.assign import Ws1Assign
from odatui.mdm.ws1.steps.certificate import Ws1Certificate
from odatui.mdm.ws1.steps.preflight import PreflightWs1
from odatui.mdm.ws1.steps.profile import Ws1Profile
from odatui.mdm.ws1.steps.upload import Ws1Upload

STEPS = [PreflightWs1(), Ws1Upload(), Ws1Assign(), Ws1Certificate(), Ws1Profile()]
