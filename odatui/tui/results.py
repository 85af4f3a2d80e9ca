"""What the Done screen says, from the run's outputs: what exists now in Okta and in the MDM (names and ids, not
the plan's "will create" wording; the MDM plug-in words its own), and which exported file is which. Plain Python,
no Textual."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

DONE = ("succeeded", "unchanged")


def _said(view: Any) -> str:
    return "created" if view.status == "succeeded" else "found"


def _missing(view: Any) -> str:
    text = f"{view.glyph} {view.title}: {view.word}"
    return text + (f" — {view.error.splitlines()[0]}" if view.error else "")


def created_lines(steps: Mapping[str, Any], outputs: Mapping[str, Mapping[str, Any]], config: Any = None) -> list[str]:
    """One line per thing that exists now. `steps`: step id → StepView (status, glyph); `outputs`: step id → the
    outputs the run recorded (odatui.core.state / StepSucceeded.outputs); `config` names what outputs do not carry."""
    def done(sid: str) -> Any:
        view = steps.get(sid)
        return view if view is not None and view.status in DONE else None

    def out(sid: str) -> Mapping[str, Any]:
        return outputs.get(sid) or {}

    lines: list[str] = []
    okta_cfg = getattr(config, "okta", None)

    if view := done("okta.app"):
        o = out("okta.app")
        label = o.get("label") or getattr(okta_cfg, "app_label", "") or "Platform SSO app"
        org = o.get("org_host") or out("preflight.okta").get("org_host")
        where = f" in {org}" if org else ""
        app_id = f", app id {o['app_id']}" if o.get("app_id") else ""
        lines.append(f"✓ Okta app “{label}”{where} ({_said(view)}): client ID {o.get('client_id', '?')}{app_id}")

    if view := done("okta.assign"):
        o = out("okta.assign")
        ids = o.get("group_ids") or {}
        groups = list(o.get("groups") or ids)
        if o.get("manual"):
            lines.append(f"! Okta groups {', '.join(groups) or '–'}: assign them to the app in the Admin Console")
        elif not groups:
            lines.append("! Okta groups: none configured — assign users to the app, or registration fails")
        else:
            named = ", ".join(f"“{g}” ({ids[g]})" if ids.get(g) else f"“{g}”" for g in groups)
            lines.append(f"✓ Okta groups assigned to the app: {named}")

    from odatui.service.wizard import mdm_done_lines  # deferred: start-up (the MDM plug-in's words)

    lines += mdm_done_lines(config, done, out)

    lines += [_missing(v) for v in steps.values() if v.status not in DONE and v.status != "skipped"
              or (v.status == "skipped" and "not needed" not in (v.summary or ""))]
    return lines


def combined_profile(paths: list[Path]) -> Path | None:
    """The profile holding every payload: the `.mobileconfig` whose name every other exported file extends
    (okta-dps-macos14.mobileconfig → okta-dps-macos14-sso.mobileconfig, …-sso.ws1.xml)."""
    stems = [p for p in paths if p.name.endswith(".mobileconfig") and not p.name.endswith(".signed.mobileconfig")]
    for candidate in sorted(stems, key=lambda p: len(p.name)):
        stem = candidate.name.removesuffix(".mobileconfig")
        others = [p for p in paths if p != candidate and p.suffix != ".txt"]
        if all(p.name.startswith((stem + "-", stem + ".")) for p in others):
            return candidate
    return None


def exported_text(paths: list[Path], folder: str) -> str:
    """The Exported section: the folder, the combined profile by name, then what the rest are."""
    if not paths:
        return "Nothing was exported."
    main = combined_profile(paths)
    signed = sum(1 for p in paths if p.name.endswith(".signed.mobileconfig"))
    parts = sum(1 for p in paths if p != main and p.name.endswith(".mobileconfig")) - signed
    fragments = sum(1 for p in paths if p.name.endswith(".ws1.xml"))
    lines = [f"✓ {len(paths)} files in {folder}"]
    if main is not None:
        lines.append(f"  {main.name} — the whole profile (all payloads): upload this one to any MDM")
    rest = []
    if parts:
        rest.append(f"{parts} per-payload parts (.mobileconfig)")
    if signed:
        rest.append(f"{signed} signed copies (.signed.mobileconfig)")
    if fragments:
        rest.append(f"{fragments} Workspace ONE Custom Settings fragments (.ws1.xml)")
    if any(p.name.lower() == "readme.txt" for p in paths):
        rest.append("README.txt (how to use them)")
    if rest:
        lines.append("  The rest: " + ", ".join(rest) + ".")
    return "\n".join(lines)
