"""The Okta side: `preflight.okta` (org, engine, credentials, Okta Verify), `okta.app` (find the PSSO app and read
its client ID) and `okta.assign` (assign the configured groups). With `okta.auth = "none"` the API steps become a
checklist of Admin Console clicks and the typed client ID is used. Okta: "Configure device configuration
profiles for PSSO using Workspace ONE", help.okta.com/oie/en-us/content/topics/oda/macos-pw-sync/
configure-macos-psso-omnissa.htm.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from odatui.errors import ConfigError, NeedsAction, StepError
from odatui.okta.client import SCOPES, OktaApiError
from odatui.steps.base import OWN_ADOPTED, OWN_CREATED, Change, ChangeKind, Context, Progress, Step
from odatui.steps.readiness import okta_warnings

PSSO_LABEL = "Platform Single Sign-On for macOS"
FORMER_LABEL = "Desktop Password Sync"  # the app's name before October 2024 (Okta IAM SE
# blog, iamse.blog/2024/06/21/desktop-password-sync-meets-platform-sso-2-0-and-jamf-pro)
ADD_APP_ACTION = ('In the Okta Admin Console: Applications → Browse App Catalog → search "Platform Single Sign-On '
                  'for macOS" → Add integration (keep the defaults and Save). odatui finds it by itself once it is added.')


def admin_error(err: OktaApiError, okta_cfg: Any) -> StepError:
    """Okta's error code → a sentence that says what the admin must change."""
    host, code = okta_cfg.host, err.error_code
    service = okta_cfg.auth == "service_app"
    what = err.operation or "this call"
    ref = f" (Okta {code}" + (f", errorId {err.error_id}" if err.error_id else "") + ")"
    grant = ("Admin Console → Applications → the service app → Okta API Scopes: grant " + ", ".join(SCOPES)
             + "; and on its Admin roles tab give it a role that covers apps and groups (e.g. Application Administrator"
             " plus Group Administrator)")
    if code == "E0000011":
        if service:
            message = f"Okta did not accept the service app's access token for {host}{ref}."
            hint = "check that okta.org_url is the org the service app lives in, then run again"
        else:
            message = (f"Okta rejected the API token: it is invalid, revoked or expired, or it was made in another org "
                       f"than {host}{ref}.")
            hint = (f"create a token in {host}'s Admin Console → Security → API → Tokens, then run "
                    "`odatui secrets set okta.api_token`")
    elif code == "E0000006":
        if service:
            message = f"The service app may not {what}: its granted scopes or its admin role lack the permission{ref}."
            hint = grant
        else:
            message = f"The API token may not {what}: the admin who created it lacks the permission{ref}."
            hint = ("create the token as an admin with the Application Administrator and Group Administrator roles "
                    "(or Super Administrator), then run `odatui secrets set okta.api_token`")
    elif code == "E0000015":
        message = (f"{host} is not licensed for this feature ({what}): Desktop Password Sync needs Okta Identity Engine "
                   f"and the Okta Device Access SKU{ref}.")
        hint = "ask your Okta account team to enable Okta Device Access for this org"
    elif code == "invalid_client":
        message = f"Okta rejected the service app's sign-in (private_key_jwt): {err.summary}{ref}."
        hint = ("check okta.service_app_client_id, that the app's Client authentication is 'Public key / Private key', "
                "and that the public key registered on the app matches the private key stored as okta.private_key")
    elif code == "invalid_scope":
        message = f"The service app is not granted every scope odatui asks for: {err.summary}{ref}."
        hint = grant
    elif code in ("invalid_dpop_proof", "use_dpop_nonce"):
        # odatui sends DPoP proofs whenever the app requires them (RFC 9449); a refused proof is most often a clock
        # that is off, since every proof carries the time it was made.
        message = f"Okta refused the service app's DPoP proof: {err.summary}{ref}."
        hint = ("check that this computer's clock is right (DPoP proofs carry the current time), then run "
                "`odatui retry`")
    elif code == "E0000047" and getattr(err, "concurrent", False):
        message = (f"Okta refused {what}: too many requests to {host} were in flight at once (Okta's concurrent "
                   f"limit, shared by every tool and integration using this org){ref}.")
        hint = ("run `odatui retry` in a moment; if it keeps happening, look in the System Log for "
                "core.concurrency.org.limit.violation to see which integration holds the requests")
    elif code == "E0000047":
        message = f"Okta's rate limit for {host} is used up ({what}){ref}."
        hint = "wait a minute and run `odatui retry`; other tools using the same org share this limit"
    elif code == "E0000007":
        message = f"Okta has no such object ({what}): {err.summary}{ref}."
        hint = "check okta.app_id, or clear it so odatui finds the app by its label"
    else:
        return StepError(err.message, hint=err.hint, retryable=err.retryable)
    return StepError(message, hint=hint, retryable=err.retryable)


@contextlib.contextmanager
def explained(ctx: Context) -> Iterator[None]:
    try:
        yield
    except OktaApiError as err:
        raise admin_error(err, ctx.config.okta) from None


def _host_of(href: str | None) -> str | None:
    if not href:
        return None
    parts = urlsplit(href)
    return parts.netloc or None


class PreflightOkta(Step):
    id = "preflight.okta"
    title = "Okta org"
    needs = ()

    def applies(self, config: Any) -> bool:
        return True

    async def _check(self, ctx: Context) -> Change:
        cfg = ctx.config.okta
        if not cfg.org_url:
            raise ConfigError("okta.org_url is not set", hint="give your Okta org URL, e.g. https://acme.okta.com")
        client = ctx.okta()
        details: list[str] = []
        with explained(ctx):
            meta = await client.org_metadata()
        pipeline = meta.get("pipeline")
        if pipeline != "idx":
            raise StepError(
                f"{cfg.host} is an Okta Classic Engine org (pipeline {pipeline!r}); Desktop Password Sync and "
                "Platform SSO need Okta Identity Engine.",
                hint="upgrade the org to Identity Engine (ask your Okta account team), then run again")
        details.append("Okta Identity Engine (pipeline idx)")
        links = meta.get("_links") or {}
        custom = _host_of((links.get("alternate") or {}).get("href"))
        organization = _host_of((links.get("organization") or {}).get("href"))
        if custom:
            using = "the custom domain" if cfg.host == custom else "the okta.com org URL"
            details.append(
                f"custom domain {custom} is configured (org URL {organization}); odatui uses {cfg.host} ({using}). "
                "The same host must be used everywhere: OrgUrl, the SSO extension URLs and authsrv:.")
            # A host other than the custom domain is a readiness warning (okta_warnings), not a detail line.
        outputs: dict[str, Any] = {"org_host": cfg.host, "pipeline": pipeline, "custom_domain": custom,
                                   "organization_host": organization, "credentials": None, "okta_verify": None}
        if cfg.auth == "none":
            details.append("no API access (okta.auth = \"none\"): credentials and Okta Verify are on the checklist")
            warnings = await okta_warnings(client, cfg, custom_domain=custom, verify=None)
            outputs["warnings"] = warnings
            return Change(ChangeKind.NONE, f"{cfg.host}: Identity Engine, reachable", tuple(details), outputs,
                          warnings=tuple(warnings))
        with explained(ctx):
            who = await client.check_credentials()
            authenticators = await client.authenticators()
        details.append(f"credentials valid: {who}")
        verify = next((a for a in authenticators if a.get("key") == "okta_verify"), None)
        if verify is None or verify.get("status") != "ACTIVE":
            state = "not set up" if verify is None else f"{verify.get('status', 'unknown').lower()}"
            raise StepError(f"The Okta Verify authenticator is {state} in {cfg.host}; Desktop Password Sync signs in "
                            "through Okta Verify.",
                            hint="Admin Console → Security → Authenticators → Okta Verify → Actions → Activate")
        details.append("Okta Verify authenticator ACTIVE")
        warnings = await okta_warnings(client, cfg, custom_domain=custom, verify=verify)
        outputs.update(credentials=who, okta_verify="ACTIVE", warnings=warnings)
        return Change(ChangeKind.NONE, f"{cfg.host}: Identity Engine, credentials valid, Okta Verify active",
                      tuple(details), outputs, warnings=tuple(warnings))

    async def inspect(self, ctx: Context) -> Change:
        return await self._check(ctx)

    async def apply(self, ctx: Context, progress: Progress) -> dict[str, Any]:
        progress(None, "checking the Okta org")
        change = await self._check(ctx)
        for line in change.details:
            progress.log(line)
        for line in change.warnings:
            progress.log(line, level="warning")
        return dict(change.outputs)


def _labels(cfg: Any) -> list[str]:
    return list(dict.fromkeys([cfg.app_label, PSSO_LABEL, FORMER_LABEL]))


def _client_id(app: dict[str, Any]) -> str:
    # "If you don't specify the client_id, this immutable property is populated with the Application instance ID."
    return str(((app.get("credentials") or {}).get("oauthClient") or {}).get("client_id") or app["id"])


def _describe(app: dict[str, Any]) -> str:
    return (f'"{app.get("label")}" (app id {app["id"]}, client ID {_client_id(app)}, {app.get("status")}, '
            f'{app.get("signOnMode")})')


def manual_checklist(cfg: Any) -> tuple[str, ...]:
    return (
        f"Okta Admin Console of {cfg.host}: Applications → Browse App Catalog → \"{PSSO_LABEL}\" → Add integration "
        "(skip if it is already there)",
        f"On that app's Sign On tab the Client ID is {cfg.client_id or '(okta.client_id is not set)'}",
        "Security → Authenticators: Okta Verify is Active",
        f"The same org host {cfg.host} is used everywhere (with a custom domain, use the custom domain)",
    )


class OktaApp(Step):
    id = "okta.app"
    title = "Okta PSSO app"
    needs = ("preflight.okta",)

    async def inspect(self, ctx: Context) -> Change:
        cfg = ctx.config.okta
        if cfg.auth == "none":
            if not cfg.client_id:
                raise ConfigError("okta.client_id is required when okta.auth = \"none\"",
                                  hint=f"copy the Client ID from the Sign On tab of \"{PSSO_LABEL}\" in the Admin Console")
            return Change(ChangeKind.NONE, f"client ID {cfg.client_id} as typed (no API access: confirm the checklist)",
                          manual_checklist(cfg),
                          {"client_id": cfg.client_id, "org_host": cfg.host, "app_id": None, "label": cfg.app_label,
                           "manual": True})
        client = ctx.okta()
        with explained(ctx):
            if cfg.app_id:
                candidates = [await client.app(cfg.app_id)]
            else:
                seen: dict[str, dict[str, Any]] = {}
                for label in _labels(cfg):
                    for app in await client.apps_by_label(label):
                        seen.setdefault(app["id"], app)
                candidates = list(seen.values())
        # Whatever its signOnMode: no public source fixes the catalog app's mode (OIDC in every sample seen), so a
        # different one is a warning, not a refusal. Whatever its status: an INACTIVE app is activated, never
        # "added from the catalog" again (that would make a second app with another client ID).
        candidates = [a for a in candidates if a.get("status") != "DELETED"]
        if not candidates:
            return Change(ChangeKind.NEEDS_ACTION, f'"{PSSO_LABEL}" is not in {cfg.host} yet', (),
                          action=ADD_APP_ACTION)
        active = [a for a in candidates if a.get("status") == "ACTIVE"]
        if len(active) > 1:
            listing = "; ".join(_describe(a) for a in active)
            return Change(ChangeKind.NEEDS_ACTION, f"{len(active)} apps could be the PSSO app",
                          tuple(_describe(a) for a in candidates),
                          action=f"Several active apps match: {listing}. Set okta.app_id to the one Macs should use "
                          "(or deactivate the extra ones in the Admin Console).")
        if not active and len(candidates) > 1:
            listing = "; ".join(_describe(a) for a in candidates)
            return Change(ChangeKind.NEEDS_ACTION, f"{len(candidates)} inactive apps could be the PSSO app",
                          tuple(_describe(a) for a in candidates),
                          action=f"Several inactive apps match: {listing}. Activate the one Macs should use "
                          "(Applications → the app → General → Activate), or set okta.app_id to it.")
        app = (active or candidates)[0]
        client_id = _client_id(app)
        if cfg.client_id and cfg.client_id != client_id:
            raise StepError(f"The typed client ID {cfg.client_id} does not match the client ID {client_id} of "
                            f"{_describe(app)} in {cfg.host}.",
                            hint="fix okta.client_id (copy it from the app's Sign On tab), or clear it to use Okta's")
        details = [f"sign-on mode {app.get('signOnMode')}, status {app.get('status')}"]
        if app.get("signOnMode") != "OPENID_CONNECT":
            details.append(f"warning: {_describe(app)} is not an OpenID Connect app; the catalog's \"{PSSO_LABEL}\" "
                           "app is OIDC in every public sample (unverified by Okta): check that this is the app "
                           "added from the catalog")
        details += [f"also found: {_describe(a)}" for a in candidates if a is not app]
        outputs = {"app_id": app["id"], "client_id": client_id, "label": app.get("label"), "org_host": cfg.host,
                   "manual": False}
        if app.get("status") != "ACTIVE":
            return Change(ChangeKind.UPDATE, f'activate "{app.get("label")}" ({app["id"]}), client ID {client_id}: '
                          f"it is {app.get('status')}", tuple(details), found=(app, outputs))
        return Change(ChangeKind.NONE, f'found "{app.get("label")}" ({app["id"]}), client ID {client_id}',
                      tuple(details), outputs)

    def done(self, change: Change, outputs: Mapping[str, Any]) -> str:
        if change.kind is ChangeKind.UPDATE:
            return f'activated "{outputs.get("label")}" ({outputs.get("app_id")}), client ID {outputs.get("client_id")}'
        return change.summary

    async def apply(self, ctx: Context, progress: Progress) -> dict[str, Any]:
        progress(None, "looking for the Platform SSO app")
        change = await self.inspect(ctx)
        return await self.apply_change(ctx, progress, change)

    async def apply_change(self, ctx: Context, progress: Progress, change: Change) -> dict[str, Any]:
        if change.kind is ChangeKind.NEEDS_ACTION:
            raise NeedsAction(change.action)
        if change.kind is not ChangeKind.UPDATE:
            return dict(change.outputs)
        app, outputs = change.found
        progress(None, f'activating "{app.get("label")}" ({app["id"]})')
        try:
            await ctx.okta().activate_app(app["id"])
        except OktaApiError as err:
            if err.error_code == "E0000006" or err.status == 403:  # may read apps but not manage them
                raise NeedsAction(activate_action(app, ctx.config.okta)) from None
            raise admin_error(err, ctx.config.okta) from None
        with explained(ctx):
            now = await ctx.okta().app(app["id"])
        if now.get("status") != "ACTIVE":
            raise NeedsAction(activate_action(app, ctx.config.okta))
        progress(1.0, f'"{app.get("label")}" is active')
        return dict(outputs)


def activate_action(app: dict[str, Any], okta_cfg: Any) -> str:
    return (f'"{app.get("label")}" ({app["id"]}) exists in {okta_cfg.host} but is {app.get("status")}, and odatui\'s '
            "credentials may not activate it: activate it in the Okta Admin Console → Applications → "
            f'"{app.get("label")}" → General (or the app list\'s gear menu) → Activate. odatui carries on once it '
            "is active.")


class OktaAssign(Step):
    id = "okta.assign"
    title = "Okta group assignment"
    needs = ("okta.app",)

    def done(self, change: Change, outputs: Mapping[str, Any]) -> str:
        ids = outputs.get("group_ids") or {}
        return "assigned " + ", ".join(f"{name} ({gid})" for name, gid in ids.items()) + " to the app" if ids \
            else change.summary

    async def _plan(self, ctx: Context) -> tuple[dict[str, str], list[str]]:
        """(group name → id for every configured group, names not yet assigned). Reads only."""
        cfg = ctx.config.okta
        client = ctx.okta()
        app_id = ctx.output("okta.app", "app_id")
        with explained(ctx):
            assigned = {a["id"] for a in await client.app_group_assignments(app_id)}
            ids: dict[str, str] = {}
            for name in cfg.groups:
                group = await client.group_by_name(name)
                if group is None:
                    raise StepError(f'The Okta group "{name}" does not exist in {cfg.host}.',
                                    hint="check the exact name (it is case-sensitive) in Directory → Groups, "
                                    "or create the group, then run again")
                ids[name] = group["id"]
        return ids, [n for n in cfg.groups if ids[n] not in assigned]

    async def inspect(self, ctx: Context) -> Change:
        cfg = ctx.config.okta
        if cfg.auth == "none":
            label = cfg.app_label
            steps = tuple(f'Applications → "{label}" → Assignments → Assign → Assign to Groups → "{g}" → Assign'
                          for g in cfg.groups) or ("Assign the users or groups who get Desktop Password Sync",)
            return Change(ChangeKind.NONE, "assign the groups in the Admin Console (no API access)", steps,
                          {"group_ids": {}, "groups": list(cfg.groups), "manual": True})
        if not cfg.groups:
            return Change(ChangeKind.NONE, "no Okta groups configured (okta.groups is empty)",
                          ("users must be assigned to the app, or registration fails on the Mac",),
                          {"group_ids": {}, "groups": [], "manual": False})
        ids, missing = await self._plan(ctx)
        app_id = ctx.output("okta.app", "app_id")
        # Who in these groups cannot use Desktop Password Sync is preflight.okta's readiness warning.
        if not missing:
            return Change(ChangeKind.NONE, f"already assigned: {', '.join(cfg.groups)}", (),
                          {"group_ids": ids, "groups": list(cfg.groups), "manual": False,
                           OWN_ADOPTED: [_entry(app_id, n, ids[n]) for n in cfg.groups]})
        return Change(ChangeKind.CREATE, f"assign {', '.join(missing)} to the app",
                      tuple(f'assign "{n}" ({ids[n]})' for n in missing), found=(ids, missing),
                      creates=tuple({"kind": "okta.group", "name": n} for n in missing))

    async def apply(self, ctx: Context, progress: Progress) -> dict[str, Any]:
        cfg = ctx.config.okta
        if cfg.auth == "none" or not cfg.groups:
            return dict((await self.inspect(ctx)).outputs)
        ids, missing = await self._plan(ctx)  # looked up again: the tenant may have changed since the plan
        return await self._assign(ctx, progress, ids, missing)

    async def apply_change(self, ctx: Context, progress: Progress, change: Change) -> dict[str, Any]:
        if change.found is None:
            return await self.apply(ctx, progress)
        ids, missing = change.found  # inspect's lookups of this attempt: no second round of reads
        return await self._assign(ctx, progress, ids, missing)

    async def _assign(self, ctx: Context, progress: Progress, ids: dict[str, str], missing: list[str]
                      ) -> dict[str, Any]:
        app_id = ctx.output("okta.app", "app_id")
        client = ctx.okta()
        for i, name in enumerate(missing):
            progress(i / len(missing), f'assigning "{name}"')
            with explained(ctx):
                await client.assign_group(app_id, ids[name])
        progress(1.0, "groups assigned")
        return {"group_ids": ids, "groups": list(ctx.config.okta.groups), "assigned": missing, "manual": False,
                OWN_CREATED: [_entry(app_id, n, ids[n]) for n in missing],
                OWN_ADOPTED: [_entry(app_id, n, ids[n]) for n in ctx.config.okta.groups if n not in missing]}


def _entry(app_id: str, name: str, group_id: str) -> dict[str, Any]:
    """The ledger's record of one group assignment (odatui.state.StepRecord.own)."""
    return {"kind": "okta.group", "id": f"{app_id}:{group_id}", "name": name, "app_id": app_id, "group_id": group_id}


STEPS = [PreflightOkta(), OktaApp(), OktaAssign()]
