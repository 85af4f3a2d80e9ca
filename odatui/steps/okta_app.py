"""`okta.app`: find the "Platform Single Sign-On for macOS" app and read its client ID (or, with `auth = "none"`, the
checklist and the typed client ID)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from odatui.core.errors import ConfigError, NeedsAction, StepError
from odatui.okta.client import OktaApiError
from odatui.steps.base import Change, ChangeKind, Context, Progress, Step
from odatui.steps.okta_common import ADD_APP_ACTION, FORMER_LABEL, PSSO_LABEL, admin_error, explained


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
    required_fields = ("okta.org_url", "okta.app_label")
    clients = ("okta",)

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
