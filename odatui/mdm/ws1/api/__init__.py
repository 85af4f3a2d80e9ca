"""Workspace ONE UEM: the async REST client the ws1.* steps and `odatui status` use."""

from odatui.mdm.ws1.api.client import (
    AppSummary,
    Blob,
    OrgGroup,
    ProfileSummary,
    RolloutStatus,
    SmartGroup,
    Ws1ApiError,
    Ws1Client,
)

__all__ = ["AppSummary", "Blob", "OrgGroup", "ProfileSummary", "RolloutStatus", "SmartGroup", "Ws1ApiError",
           "Ws1Client"]
