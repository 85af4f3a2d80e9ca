"""`verify`: read back what the other steps wrote and check it as the Mac will see it.

One org host in OktaVerify.OrgUrl, the SSO URLs and `authsrv:`; the client ID in the profile is the one Okta
has; the profile and the app go to the smart group preflight.ws1 found; the Okta groups are assigned. The
profile read back from Workspace ONE is checked with the same lint the export uses. Reads only: `inspect` does
the whole check and answers NONE (or raises with every problem found).

What it compares with is live: the engine re-inspects every prerequisite in the same run (okta.app reads the
client ID from Okta now), so a client ID or profile id stored by an earlier run is never the reference.
"""

from __future__ import annotations

import asyncio
from typing import Any

from odatui.macos import scep
from odatui.core import values
from odatui.core.errors import StepError
from odatui.macos.lint_base import errors as lint_errors
from odatui.macos.lint import lint
from odatui.macos.mobileconfig import parse_ws1_custom_settings
from odatui.steps.base import Change, ChangeKind, Context, Progress, Step
from odatui.mdm.ws1.steps.common import group_covered


def profile_payloads(profile: dict[str, Any]) -> list[dict[str, Any]]:
    """A WS1 profile body as the payload dicts macOS receives: Associated Domains (a native WS1 section, one
    list of app ids and one of domains, i.e. every domain for every app) plus each Custom Settings payload."""
    payloads: list[dict[str, Any]] = []
    domains = profile.get("AssociatedDomains") or {}
    app_ids = [a for a in domains.get("ApplicationIdentifier") or [] if isinstance(a, str)]
    if app_ids:
        entries = [d for d in domains.get("AssociatedDomains") or [] if isinstance(d, str)]
        payloads.append({"PayloadType": "com.apple.associated-domains",
                         "Configuration": [{"ApplicationIdentifier": a, "AssociatedDomains": entries} for a in app_ids]})
    for entry in profile.get("CustomSettingsList") or []:
        text = entry.get("CustomSettings") if isinstance(entry, dict) else None
        payloads.extend(parse_ws1_custom_settings(text or ""))
    return payloads


def _okta_client_id(app: dict[str, Any]) -> str:
    return str(((app.get("credentials") or {}).get("oauthClient") or {}).get("client_id") or app.get("id") or "")


class Verify(Step):
    id = "verify"
    title = "Verify the rollout"
    needs = ("okta.assign", "ws1.assign", "ws1.profile")
    required_fields = ()
    clients = ("okta", "ws1")

    async def _check(self, ctx: Context) -> tuple[list[str], list[str], dict[str, Any]]:
        """(problems, what was checked, outputs)."""
        problems: list[str] = []
        checked: list[str] = []
        okta_app = ctx.outputs.get("okta.app") or {}
        org_host = okta_app.get("org_host") or ctx.config.okta.host
        client_id = values.client_id(ctx.outputs, ctx.config)
        app_id = okta_app.get("app_id") if not okta_app.get("manual") else None
        want_groups = set(((ctx.outputs.get("okta.assign") or {}).get("group_ids") or {}).values())
        sg_id = ctx.output("preflight.ws1", "smart_group_id")
        sg_uuid = ctx.output("preflight.ws1", "smart_group_uuid")
        profile_id = ctx.output("ws1.profile", "profile_id")
        app_uuid = ctx.output("ws1.assign", "app_uuid")

        # Every read is independent: send them together (one round trip instead of four).
        async def nothing() -> Any:
            return None

        okta = ctx.okta() if app_id else None
        ws1 = ctx.ws1()
        app, group_assignments, profile, rules, registered = await asyncio.gather(
            okta.app(app_id) if okta else nothing(),
            okta.app_group_assignments(app_id) if okta and want_groups else nothing(),
            ws1.get_profile(profile_id),
            ws1.get_assignment_rules(app_uuid),
            _registered_macs(okta) if okta else nothing(),
        )

        # Okta: the app still has that client ID, and the groups are assigned.
        if app is not None:
            live_id = _okta_client_id(app)
            if live_id != client_id:
                problems.append(f"the Okta app {app_id} now has client ID {live_id}, not {client_id}")
            client_id = live_id
            if app.get("status") != "ACTIVE":
                problems.append(f"the Okta app {app_id} is {app.get('status')}; activate it")
            if group_assignments is not None:
                lost = want_groups - {a.get("id") for a in group_assignments}
                if lost:
                    problems.append(f"Okta group(s) {', '.join(sorted(lost))} are no longer assigned to the app")
            checked.append(f"Okta app {app_id}: client ID {client_id}, groups assigned")

        if registered is not None:
            checked.append(registered)

        # Workspace ONE: the profile as saved, linted for the org host and client ID.
        try:
            payloads = profile_payloads(profile)
        except Exception as exc:  # unreadable Custom Settings: say so, don't crash
            problems.append(f"profile {profile_id}: {getattr(exc, 'message', exc)}")
            payloads = []
        if payloads:
            for finding in lint_errors(lint(payloads, org_host, client_id)):
                problems.append(f"profile {profile_id}: {finding.message}")
        if scep.scep_wanted(ctx.config) and not any(p.get("PayloadType") == "com.apple.security.scep"
                                                    for p in payloads):
            problems.append(f"profile {profile_id} has no Device Access SCEP payload (Platform SSO 2.0 needs it)")
        if scep.ws1_ca(ctx.config) and any(p.get("PayloadType") == "com.apple.security.scep" for p in payloads):
            # With its own profile the certificate must not ride in the SSO profile too: a SCEP failure there
            # would roll Platform SSO back (fleet-safety.md), the thing ws1_ca exists to avoid.
            problems.append(f"profile {profile_id} still holds a Device Access SCEP payload; the certificate "
                            "profile (ws1.certificate) deploys it")
        general = profile.get("General") or {}
        assigned = {int(s.get("SmartGroupId") or 0) for s in general.get("AssignedSmartGroups") or []}
        wave = (ctx.outputs.get("preflight.ws1") or {}).get("smart_groups") or \
            [{"id": sg_id, "uuid": sg_uuid, "name": ctx.output("preflight.ws1", "smart_group_name")}]
        # The wave groups ws1.profile chose (gated waves: those whose gate holds); without gates, every wave group.
        chosen = (ctx.outputs.get("ws1.profile") or {}).get("assigned_smart_group_ids")
        expected = {int(i) for i in chosen} if chosen is not None else {int(g["id"]) for g in wave}
        for group in wave:  # a group left out would never get the profile; one the gate holds back must not have it
            if int(group["id"]) in expected and int(group["id"]) not in assigned:
                problems.append(f"profile {profile_id} is not assigned to smart group {group['id']} "
                                f"({group['name']!r})")
            elif int(group["id"]) not in expected and int(group["id"]) in assigned:
                problems.append(f"profile {profile_id} is assigned to smart group {group['id']} "
                                f"({group['name']!r}) whose wave gate does not hold")
        if general.get("IsActive") is False:
            problems.append(f"profile {profile_id} is inactive")
        problems += await _overlapping_profiles(ctx, profile_id, assigned)
        checked.append(f"profile {profile_id}: one org host {org_host}, client ID {client_id}, smart group {sg_id}")

        # The app's assignment rule still targets the smart group with Auto delivery.
        for group in wave:
            if not group_covered(rules, group["uuid"]):  # the same rule as ws1.assign
                problems.append(f"Okta Verify (app {app_uuid}) is no longer assigned (Auto) to smart group "
                                f"{group['uuid']} ({group['name']!r})")
        checked.append(f"app {app_uuid}: assigned (Auto) to smart group{'s' if len(wave) > 1 else ''} "
                       + ", ".join(str(g["uuid"]) for g in wave))
        outputs = {"org_host": org_host, "client_id": client_id, "profile_id": profile_id,
                   "smart_group_id": sg_id, "checked": checked}
        return problems, checked, outputs

    async def inspect(self, ctx: Context) -> Change:
        problems, checked, outputs = await self._check(ctx)
        if problems:
            raise StepError("The read-back does not match: " + "; ".join(problems) + ".",
                            hint="fix it in the console, or re-run the step that wrote it "
                                 "(e.g. `odatui apply --only ws1.profile`), then `odatui apply --only verify`")
        return Change(ChangeKind.NONE, f"read back: one org host {outputs['org_host']}, client ID "
                                       f"{outputs['client_id']}, smart group {outputs['smart_group_id']}",
                      tuple(checked), outputs)

    async def apply(self, ctx: Context, progress: Progress) -> dict[str, Any]:
        change = await self.inspect(ctx)  # inspect never answers anything but NONE; kept for the contract
        progress(1.0, change.summary)
        return dict(change.outputs)


async def _overlapping_profiles(ctx: Context, profile_id: Any, assigned: set[int]) -> list[str]:
    """Another profile odatui created (the ledger says so; e.g. the one before a rename) still assigned to a smart
    group of this one: its Macs get two Platform SSO profiles with the same SSO URLs, which Apple forbids across two
    installed Extensible SSO payloads (as odatui.macos.payloads notes for its UUIDs)."""
    others = [e for e in ctx.created_by_odatui("ws1.profile", "ws1.profile") if str(e.get("id")) != str(profile_id)]
    problems = []
    for entry in others:
        if not await ctx.ws1().profile_exists(int(entry["id"])):
            continue
        other = (await ctx.ws1().get_profile(int(entry["id"]))).get("General") or {}
        shared = assigned & {int(s.get("SmartGroupId") or 0) for s in other.get("AssignedSmartGroups") or []}
        if shared:
            problems.append(f"profile {entry['id']} ({entry.get('name')!r}), which odatui also created, targets the "
                            f"same smart group(s) {', '.join(map(str, sorted(shared)))} as profile {profile_id}: "
                            "those Macs get two Platform SSO profiles; `odatui apply` replaces the old one")
    return problems


async def _registered_macs(okta: Any) -> str:
    """How many Macs Okta Verify has registered (Okta Devices API): informational, never a problem — a Mac
    registers only once its user signs in after the profile arrives."""
    from odatui.okta.client import OktaApiError  # deferred: start-up (httpx)

    missing = ("Okta device registrations not read: the credentials lack okta.devices.read "
               "(grant it to the service app to see how many Macs have registered)")
    if okta.auth_mode == "service_app" and "okta.devices.read" not in okta.scopes:
        # The run's token asks only for the scopes apply needs (an ungranted one would fail the whole token
        # request); `odatui status` asks for okta.devices.read in a token of its own (service.registrations).
        return ("Okta device registrations not read by verify with a service app: `odatui status` reads them "
                "with their own token (needs okta.devices.read)")
    try:
        macs = await okta.macos_devices()
    except OktaApiError as err:
        if err.status in (401, 403):
            return missing
        raise
    users = {u.get("user", {}).get("id") for m in macs for u in (m.get("_embedded") or {}).get("users") or []}
    users.discard(None)
    # Every Mac Okta Verify registered, for any feature (FastPass too): not a Password Sync count.
    return (f"Okta: {len(macs)} Mac(s) registered with Okta Verify (any feature), for {len(users)} user(s) "
            "(Devices API)")


STEPS = [Verify()]
