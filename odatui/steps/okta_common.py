"""What the Okta steps share: the PSSO app's names, and Okta API errors explained for an admin."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from odatui.core.errors import StepError
from odatui.okta.client import SCOPES, OktaApiError
from odatui.steps.base import Context


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
