"""The removal plan as people read it: one line per object with what `remove` will do to it (the CLI prints it,
the wizard shows the same text)."""

from __future__ import annotations

from typing import Any, TextIO

KIND_WORDS = {"ws1.profile": "Workspace ONE profile", "ws1.rule": "assignment rule", "ws1.app": "Workspace ONE app",
              "ws1.blob": "uploaded file (blob)",
              "ws1.smart_group": "smart group", "okta.group": "Okta group assignment"}


def print_removal_plan(items: list[Any], left: list[Any], out: TextIO, restores: list[Any] = (),
                       notes: list[str] = ()) -> None:
    """`items`, `left`, `restores`: mdm.ws1.remover.Removal objects (what would go; what is left alone as found there;
    adopted versions made active again)."""
    if items:
        out.write("odatui would remove what it created for this target:\n")
        for item in items:
            if item.error:
                state = f"cannot check: {item.error}"
            elif item.present and item.refused:
                state = f"left alone: {item.refused}"
            elif item.present and item.keep:
                state = f"KEEP: {item.keep}"
            elif item.present:
                state = "remove" + (" (found already there; --include-adopted)" if item.origin == "adopted" else "")
            else:
                state = "already gone (deleted outside odatui): forget it"
            out.write(f"  {KIND_WORDS.get(item.kind, item.kind):<24} {item.describe()}: {state}\n")
    if left:
        out.write(f"Left alone ({len(left)} found already there, not created by odatui; "
                  "`--include-adopted` removes them too):\n")
        for item in left:
            out.write(f"  {KIND_WORDS.get(item.kind, item.kind):<24} {item.describe()}\n")
    if restores:
        out.write("Made active again (odatui retired them when it moved the assignment to its own version):\n")
        for item in restores:
            out.write(f"  {KIND_WORDS.get(item.kind, item.kind):<24} {item.describe()}\n")
    for note in notes:
        out.write(f"{note}\n")
    out.flush()
