"""What the wizard draws that comes from the MDM plug-in: its page (title, help, fields in order)."""

from __future__ import annotations

from typing import Any

from odatui.mdm import for_config


def mdm_page(config: Any) -> Any:
    """The MDM's wizard page (odatui.mdm.WizardPage) for this config."""
    return for_config(config).wizard_page()
