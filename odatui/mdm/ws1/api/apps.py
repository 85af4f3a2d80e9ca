"""Workspace ONE internal macOS apps: blob upload, app create/search/retire/delete, assignment rules (mam v1/v2).

Uploads are streamed from disk with progress and never re-sent blindly once the server may have stored them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import os
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from odatui.core.http import UPLOAD_TIMEOUT, NetworkError, send
from odatui.core.log import get_logger
from odatui.mdm.ws1.api.base import PAGE_SIZE, Ws1Base
from odatui.mdm.ws1.api.errors import Ws1ApiError, shape_guard
from odatui.mdm.ws1.api.models import AppSummary, Blob

log = get_logger("ws1")

CHUNK = 1 << 20  # upload read size: big enough for line rate, small enough for flat memory
ProgressFn = Callable[[int, int, float], Any]  # (bytes sent, total bytes, bytes per second)


class AppsApi(Ws1Base):
    async def upload_blob(self, source: str | os.PathLike[str] | bytes, *, file_name: str, og_id: int,
                          module_type: str | None = None, progress: ProgressFn | None = None) -> Blob:
        """Stream a file (or small bytes) to uploadblob. Re-sent only when the server cannot have stored it:
        429/503 answers and connections that failed before sending; otherwise the error says so."""
        what = f"upload of {file_name}"
        params: dict[str, Any] = {"fileName": file_name, "organizationGroupId": og_id}
        if module_type:
            params["moduleType"] = module_type
        total = len(source) if isinstance(source, bytes) else os.path.getsize(source)

        async def fresh_headers() -> dict[str, str]:
            self.requests_made += 1
            return {**await self.auth.headers(self.http), "Accept": "application/json;version=1",
                    "Content-Type": "application/octet-stream", "Content-Length": str(total)}

        def body() -> bytes | AsyncIterator[bytes]:  # a stream is read once: a fresh one per attempt
            return source if isinstance(source, bytes) else _file_chunks(source, total, progress)

        keeper = asyncio.create_task(self.auth.keep_fresh(self.http))
        try:
            # Re-sent only when refused before storing anything (429 rate limit, 503 maintenance, a token that
            # expired on arrival) or when the connection never opened; a GB body has no overall deadline.
            response = await send(self.http, "POST", "/api/mam/blobs/uploadblob", params=params, retry=False,
                                  policy=dataclasses.replace(self.policy, deadline=None), refused=(429, 503),
                                  resend_unsent=True, fresh_headers=fresh_headers, resend=self._renew_once(),
                                  body=body, where=self.api_url, timeout=UPLOAD_TIMEOUT, pacer=self.pacer())
        except NetworkError as exc:
            if not exc.sent:
                raise Ws1ApiError(None, None, f"{what} failed: {exc.message}", hint=exc.hint) from None
            raise Ws1ApiError(None, None, f"{what} was interrupted: {exc.message}", retryable=True,
                              hint="the server may have stored part or all of it; odatui looks for the app "
                                   "before it uploads again") from None
        finally:
            keeper.cancel()
        if response.status_code != 200:
            raise self.error(response, what)
        data = self._body(response, what, expect="Value")
        return Blob(int(data["Value"]), data.get("uuid"))

    @shape_guard
    async def create_macos_app(self, og_id: int, *, app_blob_id: int, pkginfo_blob_id: int, version: str,
                               name: str) -> int:
        """Create the macOS app from its blobs; returns the app id from the Location header. If the answer is
        lost or a 5xx, looks for an app of that name and version before anyone sends the create again."""
        what = f"creating the macOS app {name} {version}"
        body = {"applicationBlobId": app_blob_id, "pkgInfoBlobId": pkginfo_blob_id, "version": version}
        try:
            r = await self.request("POST", f"/api/mam/groups/{og_id}/macos/apps", version=1, what=what,
                                   json_body=body, ok=(201,))
        except Ws1ApiError as exc:
            if exc.status is not None and exc.status < 500:
                raise
            existing = await self.find_app(og_id, name, version)
            if existing is not None:
                log.info("%s: the answer was lost but the app exists (id %s)", what, existing.id)
                return existing.id
            raise
        location = r.headers.get("Location", "")
        tail = location.rstrip("/").rsplit("/", 1)[-1]
        if not tail.isdigit():
            raise Ws1ApiError(r.status_code, None, f"{what}: no app id in the Location header ({location!r})",
                              retryable=False)
        return int(tail)

    async def delete_blob(self, blob_id: int) -> bool:
        """BlobsV1_DeleteBlobAsync (mamv1 DELETE /blobs/blob/{blobId}): True deleted, False already gone."""
        return await self.delete(f"/api/mam/blobs/blob/{blob_id}", version=1, what=f"deleting blob {blob_id}",
                                 ok=(200, 204))

    @shape_guard
    async def get_internal_app(self, app_id: int) -> dict[str, Any]:
        what = f"reading internal app {app_id}"
        r = await self.request("GET", f"/api/mam/apps/internal/{app_id}", version=1, what=what)
        return self._body(r, what, expect="uuid")

    @shape_guard
    async def search_apps(self, og_id: int, name: str) -> list[AppSummary]:
        what = f"app search for {name!r}"
        r = await self.request("GET", "/api/mam/apps/search", version=1, what=what,
                               params={"locationgroupid": og_id, "applicationname": name, "platform": "AppleOsX",
                                       "pagesize": PAGE_SIZE})
        if r.status_code == 204:
            return []
        data = self._body(r, what, expect="Application")
        out = []
        for a in data["Application"] or []:
            ident = a.get("Id")
            app_id = ident.get("Value") if isinstance(ident, dict) else ident
            out.append(AppSummary(int(app_id), str(a.get("Uuid") or ""), str(a.get("ApplicationName") or ""),
                                  str(a.get("ActualFileVersion") or ""), str(a.get("Status") or ""),
                                  str(a.get("BundleId") or "")))
        return out

    async def find_app(self, og_id: int, name: str, version: str) -> AppSummary | None:
        """The active app with exactly this name and version, if any."""
        for app in await self.search_apps(og_id, name):
            if app.name == name and app.version == version and app.status.lower() != "retired":
                return app
        return None

    async def active_apps(self, og_id: int, name: str) -> list[AppSummary]:
        """Every version of the app with exactly this name that is not retired (WS1 keeps each version of an
        internal app as its own app record)."""
        return [a for a in await self.search_apps(og_id, name) if a.name == name and a.status.lower() != "retired"]

    async def app_exists(self, app_id: int) -> bool:
        try:
            await self.get_internal_app(app_id)
        except Ws1ApiError as exc:
            if exc.error_code == 7000 or exc.status == 404:  # 7000 AppNotFoundOrInAccsessible (answered as 401)
                return False
            raise
        return True

    async def retire_internal_app(self, app_id: int) -> None:
        """POST /api/mam/apps/internal/{id}/retire (mamv1): the version stays listed, no longer deployed."""
        try:
            await self.request("POST", f"/api/mam/apps/internal/{app_id}/retire", version=1,
                               what=f"retiring app {app_id}", retry=True, ok=(200, 202))
        except Ws1ApiError as exc:
            if exc.status == 403 and "already retired" in exc.api_message.lower():  # mamv1: 403 when already retired
                return
            raise

    async def unretire_internal_app(self, app_id: int) -> None:
        """POST /api/mam/apps/internal/{id}/unretire (mamv1): a retired version is deployable again."""
        try:
            await self.request("POST", f"/api/mam/apps/internal/{app_id}/unretire", version=1,
                               what=f"unretiring app {app_id}", retry=True, ok=(200, 202))
        except Ws1ApiError as exc:
            if exc.status == 403 and "already unretired" in exc.api_message.lower():
                return
            raise

    async def delete_internal_app(self, app_id: int) -> bool:
        """DELETE /api/mam/apps/internal/{id} (mamv1). True when deleted, False when it was already gone
        (mamv1: 400 "Application not found or user does not have access to it.", or errorCode 7000)."""
        return await self.delete(f"/api/mam/apps/internal/{app_id}", version=1, what=f"deleting app {app_id}",
                                 ok=(200, 202), gone_codes=(7000,))

    @shape_guard
    async def get_assignment_rules(self, app_uuid: str) -> dict[str, Any]:
        what = f"reading the assignment rules of app {app_uuid}"
        r = await self.request("GET", f"/api/mam/apps/{app_uuid}/assignment-rules", version=2, what=what)
        if r.status_code == 204:
            return {"assignments": [], "excluded_smart_groups": []}
        return self._body(r, what, expect="assignments")

    async def put_assignment_rules(self, app_uuid: str, rules: dict[str, Any]) -> None:
        """Full replace and publish (202). PUT is idempotent, so a lost answer may be re-sent."""
        await self.request("PUT", f"/api/mam/apps/{app_uuid}/assignment-rules", version=2,
                           what=f"saving the assignment rules of app {app_uuid}", json_body=rules, ok=(202, 200))


async def _file_chunks(path: str | os.PathLike[str], total: int, progress: ProgressFn | None) -> AsyncIterator[bytes]:
    """Read the file in 1 MiB chunks in a worker thread (the event loop never waits on the disk)."""
    started = time.monotonic()
    sent = 0
    last_report = 0.0
    with open(path, "rb") as fh:
        while True:
            chunk = await asyncio.to_thread(fh.read, CHUNK)
            if not chunk:
                break
            yield chunk
            sent += len(chunk)
            now = time.monotonic()
            if progress is not None and (now - last_report >= 0.1 or sent >= total):
                last_report = now
                result = progress(sent, total, sent / max(now - started, 1e-6))
                if inspect.isawaitable(result):
                    await result
