"""`preflight.okta`: the org answers over TLS, runs Identity Engine, the credentials work, Okta Verify is active."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from odatui.core.errors import ConfigError, StepError
from odatui.steps.base import Change, ChangeKind, Context, Progress, Step
from odatui.steps.okta_common import explained
from odatui.steps.readiness import okta_warnings


def _host_of(href: str | None) -> str | None:
    if not href:
        return None
    parts = urlsplit(href)
    return parts.netloc or None


class PreflightOkta(Step):
    id = "preflight.okta"
    title = "Okta org"
    needs = ()
    required_fields = ("okta.org_url",)
    clients = ("okta",)

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
