"""Workspace ONE UEM: the async REST client the ws1.* steps and `odatui status` use."""

from odatui.ws1.client import (
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
