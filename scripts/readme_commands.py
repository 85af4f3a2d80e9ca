"""Check (or with --write, rewrite) the README's "Commands" table against odatui/cli/commands.py, its one source."""

from __future__ import annotations

import sys
from pathlib import Path

from odatui.cli.main import build_parser
from odatui.cli.commands import readme_section, readme_table


def main(argv: list[str]) -> int:
    readme = Path(__file__).resolve().parents[1] / "README.md"
    text = readme.read_text(encoding="utf-8")
    current, wanted = readme_section(text), readme_table(build_parser())
    if current is None:
        print(f"{readme}: the markers of the generated table are missing", file=sys.stderr)
        return 2
    if current == wanted:
        return 0
    if "--write" in argv:
        readme.write_text(text.replace(current, wanted), encoding="utf-8")
        return 0
    print(wanted)
    return 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
