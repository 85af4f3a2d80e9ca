"""`odatui config path`: where the answers file odatui would read lives (for `--config`, or the default)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from odatui.core.paths import default_config_path


def cmd_config(args: Any) -> int:
    given = getattr(args, "config", None)
    path = Path(given).expanduser().absolute() if given else default_config_path()
    print(path)  # alone on stdout, so `$(odatui config path)` works
    if not path.exists():
        print("odatui: (no file there yet: the wizard `odatui` writes it when you finish the questions)",
              file=sys.stderr)
    return 0
