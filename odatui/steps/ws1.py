"""The Workspace ONE steps: preflight.ws1, ws1.upload, ws1.assign, ws1.profile.

Each `inspect` reads the tenant and says what `apply` would do, writing nothing; each `apply` looks again
first, so a re-run after a crash adopts what exists (the app of the same name and version, our assignment
rule, the profile of the same name) instead of duplicating it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from odatui import scep, values
from odatui.errors import NeedsAction, PackageError, StepError
from odatui.macos import mobileconfig
from odatui.macos.lint import errors as lint_errors
from odatui.macos.lint import lint
from odatui.macos.payloads import PssoSettings, all_payloads, org_host_from_url
from odatui.macos.pkg import read_package, version_key
from odatui.macos.pkginfo import pkginfo_plist
from odatui.steps.base import OWN_ADOPTED, OWN_CREATED, OWN_RELEASED, Change, ChangeKind, Context, Progress, Step
from odatui.steps.readiness import ws1_warnings
from odatui.steps.rollout_warnings import rollout_notes

APP_NAME = "Okta Verify"  # the pkginfo `name`, which WS1 shows as the app name
RULE_NAME_PREFIX = "Okta Verify (odatui)"


def duplicates_error(what: str, ids: list[int], og_id: Any, where: str, also: str = "") -> StepError:
    """Two of what odatui creates once: picking one would leave Macs half on the other, so stop and name both."""
    ids = sorted(ids)
    keep, extra = ids[0], ", ".join(str(i) for i in ids[1:])
    return StepError(
        f"{len(ids)} {what} exist in organization group {og_id} (ids {', '.join(str(i) for i in ids)}); odatui "
        "manages one. Two runs on this tenant at once (another machine or state folder) can leave two.",
        hint=f"in the console ({where}) delete {extra} and keep {keep}"
             + (f", {also}" if also else "") + "; then run `odatui apply` again")


# --------------------------------------------------------------------------------------------- preflight.ws1


class PreflightWs1(Step):
    id = "preflight.ws1"
    title = "Workspace ONE tenant"
    needs = ()

    async def _check(self, ctx: Context, *, create: bool = False) -> dict[str, Any]:
        """The organization group and every smart group of the wave. Missing groups are created when `create`
        (and ws1.create_smart_groups) is on; otherwise listed in outputs["missing"] for inspect to report."""
        cfg = ctx.config.ws1
        missing = ctx.config.missing("ws1.api_url", "ws1.group_id", "ws1.smart_group")
        if missing:
            raise StepError(f"Workspace ONE settings missing: {', '.join(missing)}",
                            hint="fill them in the wizard or in the [ws1] table of the config")
        client = ctx.ws1()
        og = await client.find_org_group(cfg.group_id)  # also the auth check: the first call
        if og is None:
            raise StepError(f"No organization group with Group ID {cfg.group_id!r} at {cfg.api_url}.",
                            hint="the Group ID is shown under Groups & Settings > Groups > Organization Groups > "
                                 "Details (it is not the group's name); the API admin must have access to it")
        groups: list[dict[str, Any]] = []
        absent: list[str] = []
        created: list[dict[str, Any]] = []
        for name in cfg.wave:
            candidates = await client.search_smart_groups(name)
            exact = [g for g in candidates if g.name == name]
            if not exact and create and cfg.create_smart_groups:
                sg_id = await client.create_smart_group(name, og, macos_min=ctx.config.rollout.macos_min)
                sg = await client.get_smart_group(sg_id)
                if sg is None:
                    raise StepError(f"Workspace ONE created smart group {name!r} (id {sg_id}) but does not show it.",
                                    hint="look under Groups & Settings > Groups > Assignment Groups; then re-run",
                                    retryable=True)
                exact = [sg]
                created.append(_sg_entry(sg))
            if not exact:
                if not cfg.create_smart_groups:
                    near = ", ".join(repr(g.name) for g in candidates[:8])
                    raise NeedsAction(
                        f"No smart group is named exactly {name!r}" + (f" (similar: {near})." if near else "."),
                        hint=(f"in the console, Groups & Settings > Groups > Assignment Groups > Add Smart Group: "
                              f"create {name!r} with the Macs to roll out to (or fix ws1.smart_groups, or set "
                              "ws1.create_smart_groups = true), then run odatui again"))
                absent.append(name)
                continue
            if len(exact) > 1:
                listed = "; ".join(f"id {g.id} managed by {g.managed_by or '?'}" for g in exact)
                raise StepError(f"{len(exact)} smart groups are named {name!r}: {listed}.",
                                hint="rename all but one in the console so odatui assigns to the right Macs")
            groups.append({"id": exact[0].id, "uuid": exact[0].uuid, "name": exact[0].name,
                           "devices": exact[0].devices})
        mine = {e.get("id") for e in created}
        # Readiness: the Macs of every wave's group (below the floor, no user-approved MDM); never fatal.
        warnings = (await ws1_warnings(client, og.id, [int(g["id"]) for g in groups], ctx.config.rollout.macos_min)
                    if groups else [])
        out: dict[str, Any] = {"og_id": og.id, "og_uuid": og.uuid, "og_name": og.name, "smart_groups": groups,
                               "missing": absent, OWN_CREATED: created,
                               OWN_ADOPTED: [_sg_entry(g) for g in groups if str(g["id"]) not in mine],
                               "warnings": warnings}
        if groups:  # the first wave's group, under the names earlier releases and the other steps read
            first = groups[0]
            out.update({"smart_group_id": first["id"], "smart_group_uuid": first["uuid"],
                        "smart_group_name": first["name"], "smart_group_devices": first["devices"]})
        return out

    async def inspect(self, ctx: Context) -> Change:
        out = await self._check(ctx)
        listed = ", ".join(f"{g['name']!r} (id {g['id']}, {g['devices']} devices)" for g in out["smart_groups"])
        if out["missing"]:
            floor = ctx.config.rollout.macos_min
            names = ", ".join(repr(n) for n in out["missing"])
            return Change(ChangeKind.CREATE, f"create smart group{'s' if len(out['missing']) > 1 else ''} {names} "
                          f"(macOS {floor} or later in {out['og_name']})",
                          details=tuple(f"existing: {listed}" for _ in [1] if listed),
                          creates=tuple({"kind": "ws1.smart_group", "name": n} for n in out["missing"]),
                          warnings=tuple(out["warnings"]))
        return Change(ChangeKind.NONE, f"organization group {out['og_name']} (id {out['og_id']}), smart "
                      f"group{'s' if len(out['smart_groups']) > 1 else ''} {listed}", outputs=out,
                      warnings=tuple(out["warnings"]))

    async def apply(self, ctx: Context, progress: Progress) -> dict[str, Any]:
        progress(None, "Checking the Workspace ONE API, organization group and smart groups")
        out = await self._check(ctx, create=True)
        for line in out["warnings"]:
            progress.log(line, level="warning")
        return out


def _sg_entry(g: Any) -> dict[str, Any]:
    get = (lambda k: g[k]) if isinstance(g, dict) else (lambda k: getattr(g, k))
    return {"kind": "ws1.smart_group", "id": str(get("id")), "uuid": get("uuid"), "name": get("name")}


# --------------------------------------------------------------------------------------------- ws1.upload


class Ws1Upload(Step):
    id = "ws1.upload"
    title = "Upload Okta Verify to Workspace ONE"
    needs = ("preflight.ws1", "preflight.package")

    def done(self, change: Change, outputs: Mapping[str, Any]) -> str:
        return f"Okta Verify {outputs.get('version')} is app {outputs.get('app_id')} (uuid {outputs.get('app_uuid')})"

    async def _versions(self, ctx: Context) -> tuple[Any, list[Any], list[Any], Any]:
        """(the active app of this package's version or None, active older versions, active newer versions, a
        retired app of this version or None: WS1 refuses a duplicate version, so that one is unretired).
        WS1 keeps each version of an internal app as its own app record under one name and bundle ID, a new
        version inherits the previous one's assignments, and "you cannot upload duplicate versions of an app"
        (Add Version, https://docs.vmware.com/en/VMware-Workspace-ONE-UEM/services/Application_Management/
        GUID-InternalApplicationVersions.html): odatui carries the assignment over itself, then retires the old
        version, as the console's "Retire Previous Version" does."""
        og_id = ctx.output("preflight.ws1", "og_id")
        version = ctx.output("preflight.package", "version")
        found = [a for a in await ctx.ws1().search_apps(og_id, APP_NAME) if a.name == APP_NAME]
        apps = [a for a in found if a.status.lower() != "retired"]
        retired = next((a for a in found if a not in apps and a.version == version), None)
        same_all = [a for a in apps if a.version == version]
        if len(same_all) > 1:  # two processes that no lock could see raced (look before and after create)
            raise duplicates_error(f"{APP_NAME} {version} apps", [a.id for a in same_all], og_id,
                                   "Resources > Apps > Native > Internal")
        same = same_all[0] if same_all else None
        older = [a for a in apps if a is not same and version_key(a.version) < version_key(version)]
        newer = [a for a in apps if a is not same and version_key(a.version) >= version_key(version)]
        if newer and not ctx.config.rollout.allow_downgrade:
            top = max(newer, key=lambda a: version_key(a.version))
            raise PackageError(f"Workspace ONE already has {APP_NAME} {top.version} (app id {top.id}); this package "
                               f"is {version}, which is not newer.",
                               hint="use the newer package, or `odatui apply --allow-downgrade` to make "
                                    f"{version} the assigned version")
        return same, older, newer, retired

    @staticmethod
    def _outputs(app: Any, version: str, previous: list[Any], *, created: bool) -> dict[str, Any]:
        entry = {"kind": "ws1.app", "id": str(app.id), "uuid": app.uuid, "name": f"{APP_NAME} {version}",
                 "version": version}
        return {"app_id": app.id, "app_uuid": app.uuid, "version": version,
                # other active versions: ws1.assign moves the assignment off them, then retires them
                "previous": [{"app_id": a.id, "app_uuid": a.uuid, "version": a.version} for a in previous],
                OWN_CREATED if created else OWN_ADOPTED: [entry]}

    async def inspect(self, ctx: Context) -> Change:
        version = ctx.output("preflight.package", "version")
        app, older, newer, retired = await self._versions(ctx)
        if app is not None and app.status.lower() == "inactive":
            # An inactive internal app is not delivered to devices even when assigned (UEM console: Apps → Native →
            # Internal → app → Activate); odatui does not reactivate an app an admin turned off.
            raise NeedsAction(
                f"{APP_NAME} {version} is in Workspace ONE (app id {app.id}) but Inactive, so no Mac would get it.",
                hint=f"in the console, Apps & Books > Native > Internal > {APP_NAME} {version} > Activate, "
                     "then run odatui again")
        if app is not None:
            return Change(ChangeKind.NONE, f"{APP_NAME} {version} is already in Workspace ONE (app id {app.id})",
                          outputs=self._outputs(app, version, older + newer, created=False))
        if retired is not None:
            return Change(ChangeKind.UPDATE, f"{'downgrade' if newer else 'restore'} {APP_NAME} → {version}: "
                          f"unretire app {retired.id} (WS1 takes no second upload of a version), then move the "
                          "assignment to it", found={"unretire": retired, "others": older + newer})
        size = ctx.output("preflight.package", "size_bytes")
        creates = ({"kind": "ws1.app", "name": f"{APP_NAME} {version}"},)
        if older or newer:
            cur = max(older + newer, key=lambda a: version_key(a.version))
            verb = "upgrade" if not newer else "downgrade"
            return Change(ChangeKind.CREATE, f"{verb} {APP_NAME} {cur.version} → {version}: upload it as a new "
                          f"version of the app (app id {cur.id}), then move the assignment and retire {cur.version}",
                          details=(f"blob: the .pkg ({size / 1e6:,.1f} MB, streamed)",
                                   "blob: munki pkginfo generated from the package",
                                   f"macOS app {APP_NAME} {version} next to {cur.version}"),
                          found={"app": None, "others": older + newer}, creates=creates)
        return Change(ChangeKind.CREATE, f"upload {APP_NAME} {version} ({size / 1e6:,.1f} MB) and create the macOS app",
                      details=("blob: the .pkg (streamed)", "blob: munki pkginfo generated from the package",
                               "macOS app (full software management) from both blobs"),
                      found={"app": None, "others": []}, creates=creates)

    async def apply(self, ctx: Context, progress: Progress) -> dict[str, Any]:
        version = ctx.output("preflight.package", "version")
        existing, older, newer, retired = await self._versions(ctx)
        if existing is not None:
            progress(1.0, f"{APP_NAME} {version} already exists (app id {existing.id}); adopting it")
            return self._outputs(existing, version, older + newer, created=False)
        if retired is not None:
            return await self._unretire(ctx, progress, retired, older + newer)
        return await self._create(ctx, progress, older + newer)

    async def _unretire(self, ctx: Context, progress: Progress, app: Any, others: list[Any]) -> dict[str, Any]:
        progress(None, f"Unretiring {APP_NAME} {app.version} (app id {app.id})")
        await ctx.ws1().unretire_internal_app(app.id)
        return self._outputs(app, app.version, others, created=False)

    async def apply_change(self, ctx: Context, progress: Progress, change: Change) -> dict[str, Any]:
        if change.found is None:
            return await self.apply(ctx, progress)
        # inspect looked for the app in this attempt and found none; a retry inspects (and so looks) again
        # before anything is re-sent.
        if change.found.get("unretire") is not None:
            return await self._unretire(ctx, progress, change.found["unretire"], list(change.found["others"]))
        return await self._create(ctx, progress, list(change.found.get("others") or []))

    async def _create(self, ctx: Context, progress: Progress, others: list[Any]) -> dict[str, Any]:
        client = ctx.ws1()
        og_id = ctx.output("preflight.ws1", "og_id")
        version = ctx.output("preflight.package", "version")
        path = ctx.output("preflight.package", "path")
        facts = await asyncio.to_thread(read_package, path)
        if facts.sha256 != ctx.output("preflight.package", "sha256"):
            raise PackageError(f"{path} changed since it was checked.", hint="run preflight.package again")
        pkginfo = pkginfo_plist(facts, name=APP_NAME, minimum_os=ctx.config.rollout.macos_min)
        file_name = Path(path).name if path.lower().endswith(".pkg") else Path(path).name + ".pkg"

        def on_bytes(sent: int, total: int, rate: float) -> None:
            progress(sent / total if total else None,
                     f"Uploading {file_name}: {sent / 1e6:,.1f} of {total / 1e6:,.1f} MB at {rate / 1e6:,.1f} MB/s",
                     bytes_sent=sent, bytes_total=total, rate=rate)

        progress(0.0, f"Uploading {file_name}")
        binary = await client.upload_blob(path, file_name=file_name, og_id=og_id, module_type="Application",
                                          progress=on_bytes)
        meta = await client.upload_blob(pkginfo, file_name=f"{Path(file_name).stem}-{version}.plist", og_id=og_id)
        progress(None, "Creating the macOS app")
        from odatui.ws1.client import Ws1ApiError  # deferred: start-up (httpx)

        try:
            app_id = await client.create_macos_app(og_id, app_blob_id=binary.id, pkginfo_blob_id=meta.id,
                                                   version=version, name=APP_NAME)
        except Ws1ApiError as exc:
            # WS1 refuses a second app of the same version ("you cannot upload duplicate versions", UEM Internal
            # Application Versions): if another run created it meanwhile, adopt that one (look again on conflict).
            if exc.status is None or exc.status >= 500:
                raise
            raced, *_ = await self._versions(ctx)
            if raced is None:
                raise
            progress(1.0, f"{APP_NAME} {version} was created meanwhile (app id {raced.id}); adopting it")
            return self._outputs(raced, version, [a for a in others if a.id != raced.id], created=False)
        # Another odatui (another machine, another state folder) may have created the same app meanwhile: look
        # again, so a duplicate is named now rather than found by every later run.
        await self._versions(ctx)
        app = await client.get_internal_app(app_id)
        progress(1.0, f"{APP_NAME} {version} created (app id {app_id})")
        from odatui.ws1.client import AppSummary  # deferred: start-up (httpx)

        summary = AppSummary(app_id, app["uuid"], APP_NAME, version, "Active")
        return self._outputs(summary, version, [a for a in others if a.id != app_id], created=True)


# --------------------------------------------------------------------------------------------- ws1.assign


def _our_rule(sg_uuid: str, sg_name: str, start: str | None = None) -> dict[str, Any]:
    # Full replace: every field we care about is spelled out, since omitted ones reset (ON_DEMAND!).
    rule = {
        "priority": 0,
        "distribution": {
            "name": f"{RULE_NAME_PREFIX} {sg_name}"[:100],
            "description": "Okta Desktop Password Sync rollout (managed by odatui)",
            "smart_groups": [sg_uuid],
            "app_delivery_method": "AUTO",
            "display_in_app_catalog": True,
            "keep_app_updated_automatically": True,
            "auto_update_devices_with_previous_versions": True,
        },
        "restriction": {"remove_on_unenroll": False, "desired_state_management": True},
    }
    if start:  # mamv2 effective_date: "the effective datetime … in Admin's timezone", internal apps only
        rule["distribution"]["effective_date"] = start
    return rule


def _when(start: str) -> str:
    return start.replace("T", " ")[:16]  # minutes are what an admin schedules


def _theirs_cover(rules: dict[str, Any], sg_uuid: str) -> bool:
    """Another admin's AUTO rule already delivers to this group: odatui leaves that rule (and the group) alone."""
    return _covered({**rules, "assignments": [r for r in rules.get("assignments") or [] if not is_our_rule(r)]},
                    sg_uuid)


def _stale_start(rules: dict[str, Any], sg_uuid: str, start: str | None) -> bool:
    """Our rule for this group exists but carries another start date than the config's."""
    if not start:
        return False
    return any(is_our_rule(r, sg_uuid) and str((r.get("distribution") or {}).get("effective_date") or "")[:19]
               != start[:19] for r in rules.get("assignments") or [])


def _covered(rules: dict[str, Any], sg_uuid: str) -> bool:
    for rule in rules.get("assignments") or []:
        dist = rule.get("distribution") or {}
        if sg_uuid.lower() in [str(g).lower() for g in dist.get("smart_groups") or []] \
                and dist.get("app_delivery_method") == "AUTO":
            return sg_uuid.lower() not in [str(g).lower() for g in rules.get("excluded_smart_groups") or []]
    return False


def is_our_rule(rule: dict[str, Any], sg_uuid: str | None = None) -> bool:
    """A rule odatui writes: our name prefix and exactly one smart group (that one, when given)."""
    dist = rule.get("distribution") or {}
    groups = [str(g).lower() for g in dist.get("smart_groups") or []]
    return str(dist.get("name") or "").startswith(RULE_NAME_PREFIX) and len(groups) == 1 \
        and (sg_uuid is None or groups[0] == sg_uuid.lower())


def merged_rules(current: dict[str, Any], sg_uuid: str | list[tuple[str, str]], sg_name: str = "", *,
                 drop: set[str] = frozenset(), carried: list[dict[str, Any]] = (),
                 starts: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Our AUTO rules first (priorities 0..k-1, one per wave group); the admin's rules for other groups kept,
    renumbered after ours. `drop`: smart group uuids whose rule odatui added earlier and that left the wave
    (their rule goes; nobody else's does). `carried`: rules of an older version to keep on this one."""
    wave = [(sg_uuid, sg_name)] if isinstance(sg_uuid, str) else list(sg_uuid)
    ours = {u.lower() for u, _ in wave}
    dropped = {d.lower() for d in drop}
    others, seen = [], set()
    for rule in [*(current.get("assignments") or []), *carried]:
        dist = dict(rule.get("distribution") or {})
        if is_our_rule(rule) and str(dist["smart_groups"][0]).lower() in dropped:
            continue
        groups = [g for g in dist.get("smart_groups") or [] if str(g).lower() not in ours]
        if not groups:
            continue  # a rule only for our groups is replaced by ours
        dist["smart_groups"] = groups
        if (dist.get("name"), tuple(groups)) in seen:
            continue  # already here (carried from the older version before)
        seen.add((dist.get("name"), tuple(groups)))
        others.append({k: v for k, v in rule.items() if k not in ("id", "uuid")} | {"distribution": dist})
    rules = [_our_rule(u, n, (starts or {}).get(n)) for u, n in wave] + others
    for n, rule in enumerate(rules):
        rule["priority"] = n
    excluded = [g for g in current.get("excluded_smart_groups") or [] if str(g).lower() not in ours]
    out: dict[str, Any] = {"assignments": rules, "excluded_smart_groups": excluded}
    if current.get("application_msi_deployment_params"):
        out["application_msi_deployment_params"] = current["application_msi_deployment_params"]
    return out


def _wave(ctx: Context) -> list[tuple[str, str]]:
    pre = ctx.outputs.get("preflight.ws1") or {}
    groups = pre.get("smart_groups")
    if groups is None:  # a run state from before waves: one group
        return [(ctx.output("preflight.ws1", "smart_group_uuid"), ctx.output("preflight.ws1", "smart_group_name"))]
    return [(g["uuid"], g["name"]) for g in groups]


def _rule_entry(app_uuid: str, sg_uuid: str, sg_name: str) -> dict[str, Any]:
    key = f"{app_uuid}:{sg_uuid}".lower()
    return {"kind": "ws1.rule", "id": key, "name": key, "app_uuid": app_uuid, "sg_uuid": sg_uuid, "group": sg_name}


class Ws1Assign(Step):
    id = "ws1.assign"
    title = "Assign Okta Verify (Auto) to the smart groups"
    needs = ("ws1.upload",)

    def done(self, change: Change, outputs: Mapping[str, Any]) -> str:
        names = outputs.get("smart_group_names") or [outputs.get("smart_group_name")]
        return "assigned (Auto) and published to " + ", ".join(repr(n) for n in names)

    async def _look(self, ctx: Context) -> dict[str, Any]:
        """Everything apply needs, read once: the app's rules, the rules odatui added that left the wave, and
        the older versions still active with their rules."""
        client = ctx.ws1()
        app_uuid = ctx.output("ws1.upload", "app_uuid")
        wave = _wave(ctx)
        current = await client.get_assignment_rules(app_uuid)
        in_wave = {u.lower() for u, _ in wave}
        mine = [e for e in ctx.created_by_odatui(self.id, "ws1.rule") if e.get("app_uuid", "").lower() == app_uuid.lower()]
        drop = {e["sg_uuid"].lower() for e in mine if e["sg_uuid"].lower() not in in_wave
                and any(is_our_rule(r, e["sg_uuid"]) for r in current.get("assignments") or [])}
        gone = [e for e in mine if e["sg_uuid"].lower() not in in_wave]
        previous = []
        for old in ctx.outputs.get("ws1.upload", {}).get("previous") or []:
            rules = await client.get_assignment_rules(old["app_uuid"])
            previous.append({**old, "rules": [r for r in rules.get("assignments") or [] if not is_our_rule(r)]})
        return {"current": current, "wave": wave, "drop": drop, "gone": gone, "previous": previous}

    def _outputs(self, ctx: Context, look: dict[str, Any], added: list[str]) -> dict[str, Any]:
        app_uuid = ctx.output("ws1.upload", "app_uuid")
        wave = look["wave"]
        entries = {u.lower(): _rule_entry(app_uuid, u, n) for u, n in wave}
        released = list(look["gone"])
        for old in look["previous"]:  # our rules on a retired version are no longer ours to remove
            released += [e for e in ctx.created_by_odatui(self.id, "ws1.rule")
                         if e.get("app_uuid", "").lower() == old["app_uuid"].lower()]
        return {"app_uuid": app_uuid, "smart_group_uuid": wave[0][0], "smart_group_name": wave[0][1],
                "smart_group_uuids": [u for u, _ in wave], "smart_group_names": [n for _, n in wave],
                "retired": [o["app_id"] for o in look["previous"]],
                OWN_CREATED: [entries[u.lower()] for u in added],
                OWN_ADOPTED: [e for k, e in entries.items() if k not in {a.lower() for a in added}],
                OWN_RELEASED: released}

    async def inspect(self, ctx: Context) -> Change:
        look = await self._look(ctx)
        current, wave = look["current"], look["wave"]
        starts = ctx.config.ws1.start_dates
        missing = [(u, n) for u, n in wave if not _covered(current, u)]
        restart = [(u, n) for u, n in wave if (u, n) not in missing and _stale_start(current, u, starts.get(n))]
        app_uuid = ctx.output("ws1.upload", "app_uuid")
        if not missing and not restart and not look["drop"] and not look["previous"]:
            return Change(ChangeKind.NONE, "Okta Verify is already assigned (Auto) to "
                          + ", ".join(repr(n) for _, n in wave), outputs=self._outputs(ctx, look, []))
        details = [f"add {n!r}" + (f" from {_when(starts[n])}" if n in starts else "") for _, n in missing]
        details += [f"{n!r} from {_when(starts[n])} (start date changed)" for _, n in restart]
        details += [f"remove the rule odatui added for {e['group']!r} (no longer listed)" for e in look["gone"]
                    if e["sg_uuid"].lower() in look["drop"]]
        details += [f"move the assignment from {o['version']} and retire {o['version']} (app id {o['app_id']})"
                    for o in look["previous"]]
        others = [r for r in current.get("assignments") or [] if not is_our_rule(r)]
        if others:
            details.append(f"{len(others)} existing assignment rule(s) kept")
        kind = ChangeKind.CREATE if not current.get("assignments") and not look["previous"] else ChangeKind.UPDATE
        names = ", ".join(repr(n) for _, n in wave)
        summary = (f"assign Okta Verify to {names} with Auto delivery and publish" if kind is ChangeKind.CREATE
                   else f"update the assignment: Okta Verify (Auto) to exactly {names}")
        return Change(kind, summary, details=tuple(details), found=look,
                      creates=tuple({"kind": "ws1.rule", "name": f"{app_uuid}:{u}".lower()} for u, _ in missing))

    async def apply(self, ctx: Context, progress: Progress) -> dict[str, Any]:
        return await self._save(ctx, progress, await self._look(ctx))

    async def apply_change(self, ctx: Context, progress: Progress, change: Change) -> dict[str, Any]:
        if change.found is None:
            return await self.apply(ctx, progress)
        return await self._save(ctx, progress, change.found)  # what inspect read in this attempt

    async def _save(self, ctx: Context, progress: Progress, look: dict[str, Any]) -> dict[str, Any]:
        client = ctx.ws1()
        app_uuid = ctx.output("ws1.upload", "app_uuid")
        current, wave = look["current"], look["wave"]
        starts = ctx.config.ws1.start_dates
        missing = [u for u, _ in wave if not _covered(current, u)]
        restart = [u for u, n in wave if _stale_start(current, u, starts.get(n))]
        carried = [r for old in look["previous"] for r in old["rules"]]
        names = ", ".join(repr(n) for _, n in wave)
        if missing or restart or look["drop"] or carried:
            progress(None, f"Saving the assignment to {names} and publishing")
            ours = [(u, n) for u, n in wave if not _theirs_cover(current, u)]
            await client.put_assignment_rules(app_uuid, merged_rules(current, ours, drop=look["drop"],
                                                                     carried=carried, starts=starts))
            saved = await client.get_assignment_rules(app_uuid)
            if not all(_covered(saved, u) for u, _ in wave):
                raise StepError("Workspace ONE accepted the assignment rules but does not show them.",
                                hint="open the app's Assignments in the console and Save & Publish; then re-run",
                                retryable=True)
        # Retire older versions only once this one is assigned: Macs never go without an assigned Okta Verify.
        for old in look["previous"]:
            progress(None, f"Retiring Okta Verify {old['version']} (app id {old['app_id']})")
            await client.retire_internal_app(int(old["app_id"]))
        progress(1.0, f"Okta Verify is assigned (Auto) to {names}")
        return self._outputs(ctx, look, missing)


# --------------------------------------------------------------------------------------------- ws1.profile


def _settings(ctx: Context) -> PssoSettings:
    okta = ctx.outputs.get("okta.app") or {}
    client_id = values.client_id(ctx.outputs, ctx.config)
    if not client_id:
        raise StepError("okta.app has not produced the client ID yet", hint="run okta.app first")
    org_host = okta.get("org_host") or org_host_from_url(okta.get("org_url") or ctx.config.okta.org_url)
    rollout = ctx.config.rollout
    return PssoSettings(org_host=org_host, client_id=client_id, macos_min=rollout.macos_min,
                        user_principal_name=rollout.user_principal_name or None, psso=rollout.psso,
                        scep=scep.settings(ctx.config, ctx.secrets))


@dataclass(frozen=True)
class DesiredProfile:
    """The profile this attempt wants, built once: the body WS1 takes (payloads as Custom Settings XML) and the same
    payloads as plist data, which is what WS1's copy is compared with (no XML serialised and parsed back)."""

    body: dict[str, Any]
    payloads: tuple[dict[str, Any], ...]

    @property
    def name(self) -> str:
        return self.body["General"]["Name"]


def desired_profile(ctx: Context) -> DesiredProfile:
    """The AppleOsX profile body: Device context, Auto to the smart group, and every payload as Custom Settings,
    byte for byte the `*.ws1.xml` fragments the export writes. Associated Domains go as Custom Settings too: WS1's
    native payload takes one flat list of app ids and one of domains, and how it expands them is undocumented
    (reference: Okta "Configure device configuration profiles for PSSO using Workspace ONE",
    help.okta.com/oie/en-us/content/topics/oda/macos-pw-sync/configure-macos-psso-omnissa.htm; a WS1 PSSO
    practitioner recommends Custom Settings for every PSSO payload because the built-in ones were broken before
    UEM 2506 Patch 6, aftersixcomputers.com/how-to-configure-apple-platform-sso-with-okta-desktop-password-sync)."""
    settings = _settings(ctx)
    payloads = all_payloads(settings)
    problems = lint_errors(lint(list(payloads.values()), settings.org_host, settings.client_id))
    if problems:
        raise StepError("The generated profile fails its own checks: " + " ".join(p.message for p in problems),
                        hint="report this as an odatui bug with the settings used")
    body = {
        "General": {
            "Name": ctx.config.rollout.profile_name,
            "Description": f"Okta Desktop Password Sync (Platform SSO) for {settings.org_host}; managed by odatui",
            "AssignmentType": "Auto",
            "ProfileContext": "Device",
            "ProfileScope": "Production",
            "IsActive": True,
            "AllowRemoval": "Always",
            "ManagedLocationGroupID": ctx.output("preflight.ws1", "og_id"),
            "AssignedSmartGroups": _profile_groups(ctx),
            "ExcludedSmartGroups": [],
        },
        "CustomSettingsList": [{"CustomSettings": mobileconfig.ws1_custom_settings(payloads[k])} for k in payloads],
    }
    return DesiredProfile(body, tuple(mobileconfig.plist_data(p) for p in payloads.values()))


def _profile_groups(ctx: Context) -> list[dict[str, Any]]:
    groups = (ctx.outputs.get("preflight.ws1") or {}).get("smart_groups")
    if groups is None:  # a run state from before waves: one group
        return [{"SmartGroupId": ctx.output("preflight.ws1", "smart_group_id"),
                 "Name": ctx.output("preflight.ws1", "smart_group_name")}]
    return [{"SmartGroupId": g["id"], "Name": g["name"]} for g in groups]


_COMPARED_GENERAL = ("Name", "Description", "AssignmentType", "ProfileContext", "IsActive", "AllowRemoval",
                     "ManagedLocationGroupID")


def profile_differences(desired: DesiredProfile, current: dict[str, Any]) -> list[str]:
    """What differs, one line each; [] when the profile in WS1 already says what we want."""
    out = []
    want_g, have_g = desired.body["General"], current.get("General") or {}
    for key in _COMPARED_GENERAL:
        if want_g.get(key) != have_g.get(key):
            out.append(f"General.{key}: {have_g.get(key)!r} → {want_g.get(key)!r}")
    want_sg = {int(s["SmartGroupId"]) for s in want_g["AssignedSmartGroups"]}
    have_sg = {int(s.get("SmartGroupId") or 0) for s in have_g.get("AssignedSmartGroups") or []}
    if want_sg != have_sg:
        out.append(f"assigned smart groups: {sorted(have_sg)} → {sorted(want_sg)}")
    have_dom = current.get("AssociatedDomains") or {}
    want_dom = desired.body.get("AssociatedDomains") or {}
    if want_dom:
        for key in ("ApplicationIdentifier", "AssociatedDomains"):
            if sorted(have_dom.get(key) or []) != sorted(want_dom[key]):
                out.append(f"AssociatedDomains.{key} differs")
    elif have_dom.get("ApplicationIdentifier") or have_dom.get("AssociatedDomains"):
        out.append("native Associated Domains payload: replaced by the Custom Settings one")
    try:
        have_cs = [p for e in current.get("CustomSettingsList") or []
                   for p in mobileconfig.parse_ws1_custom_settings(e.get("CustomSettings") or "")]
    except Exception:
        have_cs = []
        out.append("Custom Settings in Workspace ONE are not readable plist")
    want_cs = desired.payloads
    key = lambda p: (str(p.get("PayloadType")), str(p.get("PayloadIdentifier")))  # noqa: E731
    have_by, want_by = {key(p): p for p in have_cs}, {key(p): p for p in want_cs}
    for k in sorted(set(have_by) | set(want_by)):
        if k not in have_by:
            out.append(f"Custom Settings: {k[0]} ({k[1]}) missing")
        elif k not in want_by:
            out.append(f"Custom Settings: {k[0]} ({k[1]}) not ours, will be removed")
        elif have_by[k] != want_by[k]:
            out.append(f"Custom Settings: {k[0]} ({k[1]}) differs")
    return out


class Ws1Profile(Step):
    id = "ws1.profile"
    title = "Platform SSO profile in Workspace ONE"
    # After ws1.assign: Okta Verify must be on the Mac before the profile that points at its extension (Okta,
    # "Configure Desktop Password Sync for macOS 14": "Follow these steps in sequence", Okta Verify first).
    needs = ("okta.app", "preflight.ws1", "ws1.assign")

    def done(self, change: Change, outputs: Mapping[str, Any]) -> str:
        verb = "updated" if change.kind is ChangeKind.UPDATE else "created"
        line = f"{verb} profile {outputs.get('profile_id')} and read it back: it matches"
        if any(d.startswith("note: Device Access SCEP") for d in change.details):
            line += " (no SCEP payload: rollout.scep = \"elsewhere\", another profile must deploy it)"
        return line

    async def _find(self, ctx: Context) -> Any:
        name = ctx.config.rollout.profile_name
        og_id = ctx.output("preflight.ws1", "og_id")
        found = [p for p in await ctx.ws1().search_profiles(og_id, name) if p.name == name]
        if len(found) > 1:
            raise duplicates_error(f"macOS profiles named {name!r}", [p.id for p in found], og_id,
                                   "Resources > Profiles & Baselines > Profiles",
                                   also="or set rollout.profile_name to another name")
        return found[0] if found else None

    async def inspect(self, ctx: Context) -> Change:
        desired = desired_profile(ctx)
        name = desired.name
        notes = rollout_notes(ctx.config)
        payloads = ("Custom Settings: Associated Domains", "Custom Settings: Extensible SSO with Platform SSO",
                    "Custom Settings: Okta Verify preferences (2 domains)")
        if scep.scep_wanted(ctx.config):
            payloads = (scep.summary(ctx.config),) + payloads
        existing = await self._find(ctx)
        if existing is None:
            return Change(ChangeKind.CREATE, f"create the macOS profile {name!r} (Device, Auto)",
                          details=payloads + notes, found=(None, None, desired),
                          creates=({"kind": "ws1.profile", "name": name},))
        current = await ctx.ws1().get_profile(existing.id)
        diffs = profile_differences(desired, current)
        if not diffs:
            return Change(ChangeKind.NONE, f"profile {name!r} (id {existing.id}) is up to date", details=notes,
                          outputs={"profile_id": existing.id, "profile_uuid": existing.uuid,
                                   OWN_ADOPTED: [_profile_entry(existing.id, existing.uuid, name)]})
        return Change(ChangeKind.UPDATE, f"update the profile {name!r} (id {existing.id})",
                      details=tuple(diffs) + notes, found=(existing, current, desired))

    async def apply(self, ctx: Context, progress: Progress) -> dict[str, Any]:
        existing = await self._find(ctx)
        current = await ctx.ws1().get_profile(existing.id) if existing is not None else None
        return await self._save(ctx, progress, existing, current, desired_profile(ctx))

    async def apply_change(self, ctx: Context, progress: Progress, change: Change) -> dict[str, Any]:
        if change.found is None:
            return await self.apply(ctx, progress)
        existing, current, desired = change.found  # what inspect found and built in this attempt
        return await self._save(ctx, progress, existing, current, desired)

    async def _save(self, ctx: Context, progress: Progress, existing: Any, current: dict[str, Any] | None,
                    desired: DesiredProfile) -> dict[str, Any]:
        client = ctx.ws1()
        name = desired.name
        if existing is None:
            progress(None, f"Creating the profile {name!r}")
            profile_id = await client.create_macos_profile(desired.body)
            await self._find(ctx)  # a second one made at the same time by another odatui is named now
        else:
            profile_id = existing.id
            assert current is not None
            if not profile_differences(desired, current):
                progress(1.0, f"Profile {name!r} is up to date")
                return {"profile_id": profile_id, "profile_uuid": existing.uuid,
                        OWN_ADOPTED: [_profile_entry(profile_id, existing.uuid, name)]}
            progress(None, f"Updating the profile {name!r}")
            general = {**desired.body["General"], "ProfileId": profile_id, "CreateNewVersion": True}
            body = {**desired.body, "General": general}
            await client.update_macos_profile(body)
        # Read back: macOS profile updates can answer 200 without saving (euc-oss/terraform-sdk-uem
        # docs/troubleshooting.md, "Known API bug"; unverified on docs.omnissa.com).
        saved = await client.get_profile(profile_id)
        diffs = profile_differences(desired, saved)
        if diffs:
            raise StepError(f"Workspace ONE answered OK but profile {profile_id} does not hold the new settings "
                            f"({'; '.join(diffs[:3])}).",
                            hint="a known UEM bug with macOS profile updates; delete the profile in the console "
                                 "(Resources > Profiles & Baselines) and run `odatui apply --only ws1.profile` to "
                                 "create it afresh")
        progress(1.0, f"Profile {name!r} saved and verified (id {profile_id})")
        uuid = (saved.get("General") or {}).get("ProfileUuid", "")
        return {"profile_id": profile_id, "profile_uuid": uuid,
                OWN_CREATED if existing is None else OWN_ADOPTED: [_profile_entry(profile_id, uuid, name)]}


def _profile_entry(profile_id: int, uuid: str, name: str) -> dict[str, Any]:
    return {"kind": "ws1.profile", "id": str(profile_id), "uuid": uuid, "name": name}


STEPS = [PreflightWs1(), Ws1Upload(), Ws1Assign(), Ws1Profile()]

__all__ = ["STEPS", "PreflightWs1", "Ws1Upload", "Ws1Assign", "Ws1Profile", "DesiredProfile", "desired_profile", "merged_rules",
           "profile_differences"]
