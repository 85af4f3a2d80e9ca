"""The WS1 emulator's certificate-authority routes: the 2604 picklists and the admin route (state and consequences:
cert_authorities)."""

from __future__ import annotations

import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from odatui.mdm.ws1.emulator.base import Ws1State
from odatui.mdm.ws1.emulator.common import Ws1Error


class Ws1Certificates:
    """The picklists (mdm v1) and the admin route that adds a CA and its templates as the console would."""

    def __init__(self, ws1: Ws1State) -> None:
        self.ws1 = ws1

    async def certificate_authorities(self, request: Request, version: int) -> Response:
        og = self.ws1._og(request.path_params["og_id"])
        if og is None:
            raise Ws1Error(400, 6, f"Organization Group with id : {request.path_params['og_id']} not found or "
                           "Admin user does not have access to it.")
        found = self.ws1.cas.visible(self.ws1._og_and_ancestors(og["Id"]))
        return JSONResponse([{"Key": str(c.id), "Description": c.name} for c in found])

    async def certificate_templates(self, request: Request, version: int) -> Response:
        og = self.ws1._og(request.path_params["og_id"])
        ca = self.ws1.cas.by_id.get(request.path_params["ca_id"])
        if og is None or ca is None or ca.og_id not in self.ws1._og_and_ancestors(og["Id"]):
            raise Ws1Error(400, 400, "Certificate Authority not found or user does not have access to it.")
        return JSONResponse([{"Key": str(t.id), "Description": t.name} for t in ca.templates.values()])

    async def admin_certificate_authority(self, request: Request) -> Response:
        """POST {"name", "templates": ["…" | {"name", "auto_renewal", "renewal_days"}], "challenge", "og_id"}.
        `challenge` defaults to the sandbox Okta's static SCEP secret (what the admin pastes from Okta)."""
        try:
            data = json.loads(await request.body())
            name = str(data["name"]).strip()
            if not name:
                raise ValueError("name")
            ca = self.ws1.cas.add(name, list(data.get("templates") or []), str(data.get("challenge", self.ws1.cas.okta_challenge)),
                              int(data.get("og_id", 570)))
        except (ValueError, KeyError, TypeError, AttributeError):
            return JSONResponse({"error": 'give {"name": "...", "templates": ["..." or {"name", "auto_renewal"}], '
                                          '"challenge": "..."}'}, 400)
        return JSONResponse(ca.public(self.ws1.cas.okta_challenge), status_code=201)
