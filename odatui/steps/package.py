"""`preflight.package`: the Okta Verify .pkg is a readable flat package of com.okta.mobile, new enough for the
macOS floor. A check only: nothing is created, so `inspect` answers NONE with the facts `ws1.upload` needs."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from odatui.core.errors import PackageError
from odatui.macos.pkg import (DOWNLOAD_HINT, PackageFacts, read_package, require_okta_verify_version,
                              require_product_archive)
from odatui.steps.base import Change, ChangeKind, Context, Progress, Step


def facts_outputs(facts: PackageFacts) -> dict[str, Any]:
    return {
        "identifier": facts.identifier,
        "version": facts.version,
        "sha256": facts.sha256,
        "size_bytes": facts.size_bytes,
        "path": facts.path,
        "install_kbytes": facts.install_kbytes,
        "minimum_os": facts.minimum_os,
    }


class PackagePreflight(Step):
    id = "preflight.package"
    title = "Okta Verify package"
    needs = ()
    required_fields = ("rollout.package",)
    clients = ()

    def __init__(self) -> None:
        # inspect and apply run back to back; hashing a 1 GB package once is enough while the file is unchanged.
        self._cache: tuple[tuple[str, int, int], PackageFacts] | None = None

    async def _facts(self, ctx: Context) -> PackageFacts:
        rollout = ctx.config.rollout
        if not rollout.package:
            raise PackageError("No Okta Verify package is configured.",
                               hint=f"{DOWNLOAD_HINT} and set [rollout] package to its path")
        path = os.path.expanduser(rollout.package)
        try:
            st = os.stat(path)
            key = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
        except OSError:
            key = None  # read_package names the problem
        if key is not None and self._cache is not None and self._cache[0] == key:
            facts = self._cache[1]
        else:
            facts = await asyncio.to_thread(read_package, path)  # hashing is CPU + I/O: keep the loop free
            if key is not None:
                self._cache = (key, facts)
        require_product_archive(facts)
        require_okta_verify_version(facts, rollout.macos_min,
                                    jit=bool(rollout.psso.get("enable_create_user_at_login")))
        return facts

    async def inspect(self, ctx: Context) -> Change:
        facts = await self._facts(ctx)
        size_mb = facts.size_bytes / 1_000_000
        details = [f"identifier {facts.identifier}", f"sha256 {facts.sha256}", f"{size_mb:,.1f} MB · {facts.path}"]
        if facts.minimum_os:
            details.append(f"requires macOS {facts.minimum_os} or later")
        return Change(
            kind=ChangeKind.NONE,
            summary=f"Okta Verify {facts.version} package is usable for macOS {ctx.config.rollout.macos_min}+",
            details=tuple(details),
            outputs=facts_outputs(facts),
        )

    async def apply(self, ctx: Context, progress: Progress) -> dict[str, Any]:
        progress(None, "Reading the Okta Verify package")
        facts = await self._facts(ctx)
        progress(1.0, f"Okta Verify {facts.version}, sha256 {facts.sha256[:12]}…")
        return facts_outputs(facts)


STEPS = [PackagePreflight()]
