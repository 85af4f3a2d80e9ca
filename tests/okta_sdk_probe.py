"""Runs Okta's official Python SDK (PyPI `okta` 3.x, unmodified) against an org URL and prints one JSON line.

A separate process because aiohttp builds its default TLS context at import: `SSL_CERT_FILE` (the sandbox CA) must be in
the environment before the SDK is imported, and it must not leak into the test process. Usage:
`python okta_sdk_probe.py ORG_URL TOKEN` (SSWS), or
`python okta_sdk_probe.py ORG_URL --service-app CLIENT_ID KEY_PEM_FILE` (PrivateKey mode with DPoP on, as the SDK's
README configures a service app that requires DPoP).
"""

from __future__ import annotations

import asyncio
import json
import sys


def _err(err: object) -> str | None:
    return None if err is None else f"{type(err).__name__}: {err}"


async def main(org_url: str, token: str, service_app: tuple[str, str] | None = None) -> dict:
    from okta.client import Client
    from okta.models.application_group_assignment import ApplicationGroupAssignment

    if service_app:
        client_id, key_file = service_app
        with open(key_file) as fh:
            client = Client({"orgUrl": org_url, "authorizationMode": "PrivateKey", "clientId": client_id,
                             "scopes": ["okta.apps.read", "okta.apps.manage", "okta.groups.read",
                                        "okta.authenticators.read"],
                             "privateKey": fh.read(), "dpopEnabled": True})
    else:
        client = Client({"orgUrl": org_url, "token": token})
    out: dict = {}
    apps, _, err = await client.list_applications(q="Platform Single Sign-On for macOS")
    out["list_applications"] = {"error": _err(err), "labels": [a.label for a in apps or []]}
    if not apps:
        return out
    app_id = apps[0].id
    app, _, err = await client.get_application(app_id)
    out["get_application"] = {"error": _err(err),
                              "client_id": app.credentials.oauth_client.client_id if app else None}
    authenticators, _, err = await client.list_authenticators()
    out["list_authenticators"] = {"error": _err(err),
                                  "keys": [str(getattr(a.key, "value", a.key)) for a in authenticators or []]}
    groups, _, err = await client.list_groups(search='profile.name eq "Mac Pilot"')
    out["list_groups"] = {"error": _err(err),
                          "names": [g.profile.actual_instance.name for g in groups or []],
                          "ids": [g.id for g in groups or []]}
    if groups:
        assignment, _, err = await client.assign_group_to_application(
            app_id, groups[0].id, ApplicationGroupAssignment(priority=0))
        out["assign_group"] = {"error": _err(err), "group_id": assignment.id if assignment else None}
    out["app_id"] = app_id
    return out


if __name__ == "__main__":
    if sys.argv[2] == "--service-app":
        print(json.dumps(asyncio.run(main(sys.argv[1], "", (sys.argv[3], sys.argv[4])))))
    else:
        print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2]))))
