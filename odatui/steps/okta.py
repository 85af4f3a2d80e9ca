"""The Okta side: `preflight.okta` (org, engine, credentials, Okta Verify), `okta.app` (find the PSSO app and read
its client ID) and `okta.assign` (assign the configured groups). With `okta.auth = "none"` the API steps become a
checklist of Admin Console clicks and the typed client ID is used (reference/okta.md §3, §6).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from odatui.errors import ConfigError, NeedsAction, StepError
from odatui.okta.client import SCOPES, OktaApiError
from odatui.steps.base import Change, ChangeKind, Context, Progress, Step
from odatui.steps.readiness import okta_warnings

PSSO_LABEL = "Platform Single Sign-On for macOS"
FORMER_LABEL = "Desktop Password Sync"  # the app's name before October 2024 (reference/okta.md §3.2)
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
        message = f"The service app requires DPoP-bound tokens, which odatui does not send{ref}."
        hint = ("on the service app's General tab, turn off 'Require Demonstrating Proof of Possession (DPoP) header "
                "in token requests', then run again")
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
                "The same host must be used everywhere: OrgUrl, the SSO extension URLs and authsrv:. "
                + ("" if cfg.host == custom else f"To use the custom domain, set okta.org_url = https://{custom}."))
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
        usable = [a for a in candidates if a.get("signOnMode") == "OPENID_CONNECT" and a.get("status") == "ACTIVE"]
        others = tuple(f"not usable: {_describe(a)}" for a in candidates if a not in usable)
        if cfg.app_id and not usable:
            raise StepError(f"okta.app_id {cfg.app_id} is {_describe(candidates[0])}, not an active OIDC app.",
                            hint="activate it in the Admin Console, or clear okta.app_id so odatui finds the app by label")
        if not usable:
            return Change(ChangeKind.NEEDS_ACTION, f'"{PSSO_LABEL}" is not in {cfg.host} yet', others,
                          action=ADD_APP_ACTION)
        if len(usable) > 1:
            listing = "; ".join(_describe(a) for a in usable)
            return Change(ChangeKind.NEEDS_ACTION, f"{len(usable)} apps could be the PSSO app",
                          tuple(_describe(a) for a in usable) + others,
                          action=f"Several active apps match: {listing}. Set okta.app_id to the one Macs should use "
                          "(or deactivate the extra ones in the Admin Console).")
        app = usable[0]
        client_id = _client_id(app)
        if cfg.client_id and cfg.client_id != client_id:
            raise StepError(f"The typed client ID {cfg.client_id} does not match the client ID {client_id} of "
                            f"{_describe(app)} in {cfg.host}.",
                            hint="fix okta.client_id (copy it from the app's Sign On tab), or clear it to use Okta's")
        outputs = {"app_id": app["id"], "client_id": client_id, "label": app.get("label"), "org_host": cfg.host,
                   "manual": False}
        return Change(ChangeKind.NONE, f'found "{app.get("label")}" ({app["id"]}), client ID {client_id}',
                      (f"sign-on mode {app.get('signOnMode')}, status {app.get('status')}",) + others, outputs)

    async def apply(self, ctx: Context, progress: Progress) -> dict[str, Any]:
        progress(None, "looking for the Platform SSO app")
        change = await self.inspect(ctx)
        if change.kind is ChangeKind.NEEDS_ACTION:
            raise NeedsAction(change.action)
        return dict(change.outputs)


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
        if not missing:
            return Change(ChangeKind.NONE, f"already assigned: {', '.join(cfg.groups)}", (),
                          {"group_ids": ids, "groups": list(cfg.groups), "manual": False})
        return Change(ChangeKind.CREATE, f"assign {', '.join(missing)} to the app",
                      tuple(f'assign "{n}" ({ids[n]})' for n in missing), found=(ids, missing))

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
        return {"group_ids": ids, "groups": list(ctx.config.okta.groups), "assigned": missing, "manual": False}


STEPS = [PreflightOkta(), OktaApp(), OktaAssign()]
