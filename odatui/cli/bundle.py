"""`odatui bundle --out FILE`: write the support zip (odatui.service.bundle builds and checks it) and say so."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from odatui.service.bundle import write_bundle


def cmd_bundle(args: Any) -> int:
    out = Path(args.out).expanduser()
    config_path = Path(args.config).expanduser() if getattr(args, "config", None) else None
    names = write_bundle(out, config_path, force=getattr(args, "force", False), all_targets=getattr(args, "all", False))
    size = out.stat().st_size
    print(f"Support bundle written to {out} ({len(names)} files, {size / 1024:.0f} kB): {', '.join(names)}")
    print("It was checked for every secret odatui knows; look through it before you send it anyway.", file=sys.stderr)
    return 0
