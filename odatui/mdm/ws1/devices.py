"""Per-Mac truth after a rollout (`status --devices`, the wizard's device table) and a second push of the profile
(`repush`, the table's re-push). The ids come from the last run's state: exactly what was rolled out."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from odatui.core.errors import OdatuiError, UsageError
from odatui.macos.scep import scep_wanted, ws1_ca
from odatui.steps.base import clients
from odatui.core.state import StateStore
from odatui.mdm.ws1.api.devices import DeviceLister, OwnedProfile


PER_DEVICE_MAX = 2_000  # above this, the wizard's device table shows bulk states (seconds, not minutes)
REPUSH_PARALLEL = 8  # install commands in flight at once


def wave_groups(pre: dict[str, Any]) -> list[dict[str, Any]]:
    """Every wave's smart group ({id, name, devices…}) from preflight.ws1's outputs (`smart_groups`); a run from
    before waves recorded only the one."""
    return pre.get("smart_groups") or [{"id": pre["smart_group_id"], "name": pre.get("smart_group_name"),
                                        "devices": pre.get("smart_group_devices")}]


def ids_from_outputs(outputs: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The rollout's ids (organization group, smart groups, profile, app), None before preflight.ws1 found them."""
    pre = outputs.get("preflight.ws1") or {}
    if "smart_group_id" not in pre or "og_id" not in pre:
        return None
    groups = wave_groups(pre)
    cert = outputs.get("ws1.certificate") or {}
    return {"og_id": int(pre["og_id"]), "smart_group_ids": [int(g["id"]) for g in groups],
            "smart_group_names": [g.get("name") for g in groups],
            "smart_group_devices": sum(int(g.get("devices") or 0) for g in groups),
            "profile_id": (outputs.get("ws1.profile") or {}).get("profile_id"),
            "profiles": owned_profiles(outputs),
            # rollout.scep = "ws1_ca": the certificate profile and the CA/template names its certificates carry
            "certificate_profile_id": cert.get("certificate_profile_id"),
            "certificate_names": tuple(n for n in (cert.get("certificate_template"), cert.get("certificate_authority"))
                                       if n),
            "app_id": (outputs.get("ws1.upload") or {}).get("app_id")}


def owned_profiles(outputs: dict[str, dict[str, Any]]) -> list[OwnedProfile]:
    """Every WS1 profile the run created or adopted: each ws1.* step's `…profile_id` output. The Platform SSO
    profile (ws1.profile) is the key "profile"; any other (ws1.certificate's certificate profile) its step's id."""
    owned = []
    for step_id, out in outputs.items():
        if not (step_id.startswith("ws1.") and isinstance(out, dict)):
            continue
        for name, value in out.items():  # profile_id (ws1.profile), certificate_profile_id (ws1.certificate), …
            if name.endswith("profile_id") and isinstance(value, int):
                owned.append(OwnedProfile("profile" if step_id == "ws1.profile" else step_id, int(value)))
    return owned


def rollout_ids(config: Any) -> dict[str, Any]:
    """The ids of this target's last run; no run yet is a usage error (exit 2) with the fix."""
    ids = ids_from_outputs(StateStore(config.target_key()).load().outputs())
    if ids is None:
        raise UsageError("no rollout to look at yet: the last run has no Workspace ONE smart group",
                         hint="run `odatui apply` (or the wizard) first; status --devices reads its ids")
    return ids


def _lister(client: Any, config: Any, ids: dict[str, Any], **kw: Any) -> Any:
    return DeviceLister(client, ids["smart_group_ids"], og_id=ids["og_id"], macos_min=config.rollout.macos_min,
                        profile_id=ids["profile_id"], profiles=ids.get("profiles"), app_id=ids["app_id"],
                        scep=scep_wanted(config),
                        cert_profile_id=ids.get("certificate_profile_id") if ws1_ca(config) else None,
                        cert_names=tuple(ids.get("certificate_names") or ()), **kw)


async def list_devices(config: Any, secrets: Any, ids: dict[str, Any], on_rows: Callable[[list[Any], list[str]], Any],
                       *, per_device: bool | None = None, only: set[int] | None = None, budgeted: bool = False,
                       max_requests: int | None = None, progress: Callable[[Any], Any] | None = None) -> Any:
    """Every Mac of the smart groups with its state and reasons; `on_rows(rows, problems)` gets each page as it
    arrives, `progress(summary)` the counts after each page. Returns the summary. Per-Mac lookups (profile
    failures, certificates: a request per Mac) when `per_device` (None: only for smart groups up to
    PER_DEVICE_MAX Macs), within a request budget when `budgeted` (`max_requests`, or a multiple of the bulk
    listing); what they leave undecided is counted in the summary."""
    if per_device is None:
        per_device = ids.get("smart_group_devices", 0) <= PER_DEVICE_MAX
    async with clients(config, secrets, None, "ws1") as ctx:
        return await _lister(ctx.ws1(), config, ids, per_device=per_device, only=only, budgeted=budgeted,
                             max_requests=max_requests, progress=progress).run(on_rows)


async def _push(client: Any, profile_id: int, device_ids: list[int]) -> tuple[int, list[str]]:
    sem = asyncio.Semaphore(REPUSH_PARALLEL)
    done, failed = 0, []

    async def push(device_id: int) -> None:
        nonlocal done
        async with sem:
            try:
                await client.install_profile(int(profile_id), device_id)
                done += 1
            except OdatuiError as exc:
                failed.append(f"{device_id}: {exc.message}")

    await asyncio.gather(*(push(d) for d in device_ids))
    return done, failed


async def push_profile(config: Any, secrets: Any, profile_id: int, device_ids: list[int]) -> tuple[int, list[str]]:
    """Ask WS1 to install the profile again on these Macs (a few at a time); (done, "device: why" per failure).
    WS1 queues an install command; each Mac installs it at its next check-in."""
    async with clients(config, secrets, None, "ws1") as ctx:
        return await _push(ctx.ws1(), profile_id, device_ids)


# Reasons a second push of the profile can fix: the profile broke on the Mac, or its SCEP payload's certificate is
# missing, failed or near expiry (Okta's CA does not renew: the MDM redistributes the profile, Okta "Static SCEP for
# macOS with Workspace ONE"). Not fixable by a push: macOS below the floor, no user-approved MDM (the Extensible SSO
# payload needs it: developer.apple.com/documentation/devicemanagement/extensiblesinglesignon), Okta Verify not
# installed (the app's assignment, not the profile), an incomplete WS1 record, a failed lookup.
REPUSH_FIXES = ("profile failed", "SCEP certificate missing", "SCEP certificate failed", "SCEP certificate expires")


def repush_fixes(reason: str) -> bool:
    return reason.startswith(REPUSH_FIXES)


def reason_kind(reason: str) -> str:
    """"macOS 13.6 is below the floor 14" → "macOS below the floor": one name per kind, for the skipped counts."""
    if reason.startswith("macOS ") and "below the floor" in reason:
        return "macOS below the floor"
    return reason.split(" (")[0].split(":")[0]


def skipped_line(macs: int, skipped: dict[str, int]) -> str:
    """One line: how many Macs were skipped, and how many had each kind of reason (a Mac may have several)."""
    kinds = ", ".join(f"{kind} ({n})" for kind, n in sorted(skipped.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"skipped {macs} Mac(s) whose reasons a re-push cannot fix: {kinds}"


async def repush(config: Any, secrets: Any, ids: dict[str, Any], device_ids: list[int] | None,
                 on_problem: Callable[[str], Any],
                 confirm: Callable[[int], bool], *, limit: int | None = None,
                 on_skipped: Callable[[str], Any] | None = None) -> tuple[list[int], int | None, list[str]]:
    """`odatui repush`: the given Macs that are members (an unknown one is a problem), or, without ids, every
    member with a reason a re-push fixes; a Mac whose reasons are all of other kinds is skipped and counted in one
    line to `on_skipped`. A Mac whose profile status is still pending (an install command is queued:
    DeviceProfileApiEntity.Status PendingInstall) is skipped too, as a second command adds nothing but load; `limit`
    (--max) caps how many are pushed in one run. `confirm(count)` before anything is pushed. (targets, pushed or
    None when not confirmed, failures)."""
    from odatui.mdm.ws1.api.device_rows import PENDING

    targets: list[int] = []
    queued: list[int] = []
    seen: set[int] = set()
    skipped: dict[str, int] = {}
    skipped_macs: list[int] = []
    wanted = set(device_ids) if device_ids is not None else None

    def collect(rows: list[Any], lines: list[str]) -> None:
        for line in lines:
            on_problem(line)
        for row in rows:
            seen.add(row.id)
            if any(repush_fixes(r) for r in row.reasons) or (wanted is not None and not row.reasons):
                (queued if row.profile == PENDING else targets).append(row.id)
            elif row.reasons:
                skipped_macs.append(row.id)
                for kind in {reason_kind(r) for r in row.reasons}:
                    skipped[kind] = skipped.get(kind, 0) + 1

    async with clients(config, secrets, None, "ws1") as ctx:
        # --device: only those Macs (membership checked); --failing: every member with a reason.
        await _lister(ctx.ws1(), config, ids, per_device=True, only=wanted).run(collect)
        if skipped:  # not a problem: said, and the rest go
            (on_skipped or on_problem)(skipped_line(len(skipped_macs), skipped))
        if wanted is not None:
            for unknown in sorted(wanted - seen):
                on_problem(f"device {unknown} is not a Mac of smart group(s) "
                           f"{', '.join(map(str, ids['smart_group_names']))}; skipped")
        note = on_skipped or on_problem
        if queued:
            note(f"{len(queued)} Mac(s) skipped: an install command is already queued for them (profile status "
                 "pending); each installs it at its next check-in")
        if limit is not None and len(targets) > limit:
            note(f"{len(targets) - limit} of {len(targets)} Mac(s) left for a later run (--max {limit}); "
                 "`odatui repush` again pushes the next ones")
            targets = sorted(targets)[:limit]
        if not targets or not confirm(len(targets)):
            return targets, None, []
        done, failed = await _push(ctx.ws1(), int(ids["profile_id"]), targets)
        return targets, done, failed
