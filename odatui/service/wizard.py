"""What the wizard draws that comes from the MDM plug-in: its page (title, help, fields in order) and the Done
screen's lines for what exists in it now."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from odatui.mdm import for_config


def mdm_page(config: Any) -> Any:
    """The MDM's wizard page (odatui.mdm.WizardPage) for this config."""
    return for_config(config).wizard_page()


def mdm_done_lines(config: Any, done: Callable[[str], Any], out: Callable[[str], Mapping[str, Any]]) -> list[str]:
    """One line per thing that exists now in the MDM (odatui.mdm.Mdm.done_lines)."""
    return for_config(config).done_lines(done, out, config)
