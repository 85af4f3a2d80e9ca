"""The admin's colour theme, kept between runs: a one-line file `theme` in the user config folder, written when
the theme is changed with Textual's own "Theme" command (Ctrl+P). No Textual here."""

from __future__ import annotations

from pathlib import Path


def _path() -> Path:
    from odatui.core.paths import config_dir

    return config_dir() / "theme"


def load_theme() -> str | None:
    try:
        name = _path().read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None  # none chosen yet, or unreadable: the default theme
    return name or None


def save_theme(name: str) -> None:
    path = _path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_text(name + "\n", encoding="utf-8")
