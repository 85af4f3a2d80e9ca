"""The answers file is the admin's: the wizard writes back only the fields the admin changed, into that one file,
keeping every comment, blank line and key order (tomlkit edits the document in place; tomli-w would rewrite it).

Values that came only from `ODATUI_*` environment variables are never written: they were not typed here, and the
variable would shadow the file anyway. Nothing here imports Textual; the wizard calls it from a thread.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import tomlkit

HEADER = "# odatui answers file: re-run unattended with `odatui apply --config THIS_FILE`. No secrets here.\n"


def snapshot(config: Any) -> dict[str, dict[str, Any]]:
    """The config's values as loaded (file + environment): what "changed in the wizard" is measured against."""
    return copy.deepcopy(config.to_toml_dict())


def env_var(table: str, field: str) -> str:
    return f"ODATUI_{table.upper()}__{field.upper()}"


def changes(baseline: dict[str, dict[str, Any]], config: Any) -> dict[tuple[str, str], Any]:
    """(table, field) → new value, for each field whose value differs from the baseline and is not governed by an
    `ODATUI_*` variable."""
    now = config.to_toml_dict()
    out: dict[tuple[str, str], Any] = {}
    for table, fields in now.items():
        for field, value in fields.items():
            if baseline.get(table, {}).get(field) != value and not os.environ.get(env_var(table, field)):
                out[(table, field)] = value
    return out


def render(text: str | None, changed: dict[tuple[str, str], Any]) -> str:
    """The file's new text: `text` (None for a new file) with only `changed` set; everything else byte-for-byte."""
    doc = tomlkit.parse(text) if text is not None else tomlkit.parse(HEADER)
    for (table, field), value in changed.items():
        if table not in doc:
            doc.add(table, tomlkit.table())
        section = doc[table]
        if value in ("", None) and field in section:
            del section[field]  # cleared in the wizard: the model's default applies again
        elif value not in ("", None):
            section[field] = value
    return tomlkit.dumps(doc)


def write_answers(path: Path, changed: dict[tuple[str, str], Any]) -> Path:
    """Write `changed` into `path` atomically (owner-only, as every odatui file); other bytes are kept."""
    from odatui.core.files import CONFIG_LIMIT, atomic_write, read_text_bounded

    path = Path(path).expanduser()
    text = read_text_bounded(path, limit=CONFIG_LIMIT, what="answers file") if path.exists() else None
    new = render(text, {k: v for k, v in changed.items() if text is not None or v not in ("", None)})
    data = new.encode("utf-8")
    if len(data) > CONFIG_LIMIT:
        # Never write what `load` refuses (files.CONFIG_LIMIT): the wizard would leave an answers file no odatui
        # command can read. Nothing is written; the value that made it so large is the admin's to shorten.
        from odatui.core.errors import UsageError

        raise UsageError(f"the answers file would be {len(data):,} bytes, over the {CONFIG_LIMIT >> 20} MiB limit "
                         f"odatui reads; {path} was not changed",
                         hint="shorten the longest value (a group list, a path or a note pasted by mistake)")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return atomic_write(path, data, what="answers file")
