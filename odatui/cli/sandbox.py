"""`odatui sandbox`: run the emulators in the foreground, print how to reach them, stop on Ctrl-C."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

import tomllib

from odatui.core import answers
from odatui.core.config import parse_config
from odatui.core.errors import UsageError
from odatui.core.files import CONFIG_LIMIT, atomic_write, read_text_bounded, refuse_overwrite
from odatui.core.paths import cache_dir
from odatui.sandbox.credentials import OKTA_SCEP_CHALLENGE, OKTA_TOKEN, WS1_PASSWORD, WS1_TENANT_CODE, WS1_USER
from odatui.sandbox.fleet import MAX_DEVICES
from odatui.sandbox.samplepkg import make_sample_pkg
from odatui.sandbox.server import Sandbox, SandboxOptions


def _options(args: Any):
    if not 0.0 <= args.fault_rate <= 1.0:
        raise UsageError(f"--fault-rate must be between 0 and 1 (got {args.fault_rate})", hint="e.g. --fault-rate 0.05")
    if args.latency_ms < 0:
        raise UsageError(f"--latency-ms must not be negative (got {args.latency_ms})")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535 (got {args.port})")
    if not 0 <= args.devices <= MAX_DEVICES:
        raise UsageError(f"--devices must be between 0 and {MAX_DEVICES} (got {args.devices})")
    data_dir = None
    if getattr(args, "write_config", None):
        # A fixed place per port, so the written config's ca_bundle still names a file after a restart (the CA is
        # renewed) and a second sandbox on another port does not replace the first one's CA. With --port 0 (any
        # free port) a restart gets another port anyway: each such sandbox gets a folder of its own, so two running
        # at once never share a CA, a package or recorded state.
        if args.port:
            data_dir = cache_dir() / "sandbox" / f"port-{args.port}"
        else:
            (cache_dir() / "sandbox").mkdir(parents=True, exist_ok=True)
            data_dir = Path(tempfile.mkdtemp(prefix="any-port-", dir=cache_dir() / "sandbox"))
    custom_domain = getattr(args, "custom_domain", None)
    if custom_domain is not None and not re.fullmatch(r"(?=.{1,253}$)([A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,63}",
                                                      custom_domain):
        raise UsageError(f"--custom-domain must be a host name (got {custom_domain!r})", hint="e.g. login.acme.com")
    return SandboxOptions(port=args.port, latency_ms=args.latency_ms, fault_rate=args.fault_rate, seed=args.seed,
                          devices=args.devices, psso_app=args.psso_app, data_dir=data_dir,
                          service_app_key=getattr(args, "service_app_key", "ec"), dpop=getattr(args, "dpop", "off"),
                          custom_domain=custom_domain, split_hosts=bool(getattr(args, "split_hosts", False)))


# The first line of every config `--write-config` writes: how a restart recognises its own file (and any other
# existing file, an admin's answers file included, is refused unless --force).
SANDBOX_HEADER = ("# odatui sandbox config, written by `odatui sandbox --write-config`. A restart updates only the "
                  "URLs, CA bundles, package and service app id below; your other edits and comments stay.\n")

# (table, field) the sandbox owns in its file: what a restart changes (the CA is renewed, the port may differ).
OWNED = (("okta", "org_url"), ("okta", "ca_bundle"), ("okta", "scep_url"), ("okta", "service_app_client_id"),
         ("okta", "client_id"), ("ws1", "api_url"), ("ws1", "ca_bundle"), ("ws1", "oauth_token_url"),
         ("rollout", "package"))


SECRETS_HEADER = "# odatui sandbox demo credentials"


def _starts_with(path: Path, header: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(len(header)) == header.encode()
    except OSError:
        return False


def is_sandbox_config(path: Path) -> bool:
    """A file `odatui sandbox --write-config` wrote (its first line says so)."""
    return _starts_with(path, SANDBOX_HEADER[:40])


def banner(sb: Any) -> str:
    lines = [
        f"odatui sandbox on {sb.url}",
        f"  CA certificate     {sb.ca_path}   (curl --cacert {sb.ca_path} {sb.url}/_sandbox/state)",
        f"  Okta org URL       {sb.url}",
        f"  Okta API token     {OKTA_TOKEN}",
        f"  Okta SCEP secret   {OKTA_SCEP_CHALLENGE}   (Device Access SCEP URL {sb.url}/pki/scep/sandbox)",
    ]
    if "okta" in sb.world.emulators:
        client_id, key_path = sb.okta_service_app()
        okta = sb.world.emulators["okta"]
        dpop = "DPoP required" if okta.require_dpop else "DPoP off"
        lines += [f"  Okta service app   client id {client_id}, {okta.service_app_key_type.upper()} private key "
                  f"{key_path}, {dpop}"]
    if sb.options.split_hosts:
        lines += [f"  split hosts        Okta org {sb.okta_url}, WS1 API {sb.ws1_url}, WS1 token {sb.ws1_token_url} "
                  f"(the written config uses these; {sb.url} still serves everything)"]
    lines += [
        f"  WS1 API URL        {sb.ws1_url or sb.url}",
        f"  WS1 user           {WS1_USER} / {WS1_PASSWORD}",
        f"  WS1 tenant code    {WS1_TENANT_CODE}",
        f"  admin              POST {sb.url}/_sandbox/okta/psso-app adds the PSSO app; GET /_sandbox/state, "
        "/_sandbox/requests",
    ]
    return "\n".join(lines)


def _write_or_update(path: Path, data: dict[str, Any], *, update: bool) -> Path:
    """A new file (the whole config), or, onto one the sandbox wrote before, only the OWNED fields changed in place
    (odatui.core.answers keeps every other byte: the admin's edits and comments)."""
    path = Path(path).expanduser()
    if update:
        text = read_text_bounded(path, limit=CONFIG_LIMIT, what="sandbox config", error=UsageError)
        owned = {(t, f): data[t].get(f, "") for t, f in OWNED}
        new = answers.render(text, owned)
    else:
        config = parse_config(data, source="sandbox")
        new = answers.render(SANDBOX_HEADER, {(t, f): v for t, fields in config.to_toml_dict().items()
                                              for f, v in fields.items()})
    try:
        parse_config(tomllib.loads(new), source=str(path))
    except tomllib.TOMLDecodeError as exc:  # the admin's edits broke the TOML: say so, write nothing
        raise UsageError(f"{path}: not valid TOML ({exc}); the sandbox did not update it",
                         hint="fix the line it names, or move the file away") from None
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    return atomic_write(path, new.encode("utf-8"), what="sandbox config")


def write_config(sb: Any, path: Path, okta_auth: str = "api_token") -> tuple[Path, Path]:
    """A config that `odatui plan` / `apply` accept as written (with a sample Okta Verify package, as the demo
    makes) and, next to it, a 0600 shell file exporting the demo credentials as ODATUI_* variables to source: the
    config file itself never holds a secret."""
    package = sb.data_dir / "OktaVerify-9.52.0.pkg"
    if not package.exists():
        make_sample_pkg(package, version="9.52.0")
    data = sb.config_dict(okta_auth)
    data["rollout"]["package"] = str(package)
    written = _write_or_update(path, data, update=is_sandbox_config(Path(path).expanduser()))
    secrets_path = written.with_name(f"{written.stem}.secrets.sh")
    fd = os.open(secrets_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        os.fchmod(fh.fileno(), 0o600)  # also when the file existed with wider rights
        fh.write(SECRETS_HEADER + " (not real secrets); source this file: . " + str(secrets_path) + "\n")
        env = Sandbox.secret_env()
        if okta_auth == "service_app":  # the emulated service app's private key (PEM), as odatui reads it
            env["ODATUI_OKTA__PRIVATE_KEY"] = sb.okta_service_app()[1].read_text(encoding="utf-8")
        for name, value in env.items():
            fh.write(f"export {name}={shlex.quote(value)}\n")
    return written, secrets_path


def cmd_sandbox(args: Any) -> int:
    options = _options(args)
    if getattr(args, "write_config", None):  # checked before anything starts: a refused write leaves nothing
        # Ours: a file this command wrote (a restart updates it in place). An admin's answers file is not.
        refuse_overwrite(Path(args.write_config).expanduser(), what="sandbox config", ours=is_sandbox_config,
                         force=getattr(args, "force", False))
        secrets_path = Path(args.write_config).expanduser()
        secrets_path = secrets_path.with_name(f"{secrets_path.stem}.secrets.sh")
        refuse_overwrite(secrets_path, what="sandbox secrets file", force=getattr(args, "force", False),
                         ours=lambda p: _starts_with(p, SECRETS_HEADER))
    try:
        sb = Sandbox(options).start()
    except OSError as exc:
        raise UsageError(f"cannot listen on 127.0.0.1:{options.port}: {exc.strerror or exc}",
                         hint="pick another --port, or 0 for any free port") from None
    try:
        print(banner(sb), flush=True)
        if getattr(args, "write_config", None):
            okta_auth = getattr(args, "okta_auth", "api_token")
            path, secrets_path = write_config(sb, Path(args.write_config), okta_auth)
            print(f"  config written     {path}\n"
                  f"  demo secrets       {secrets_path}   (0600; `. {secrets_path}` then `odatui plan --config {path}`)",
                  flush=True)
            if okta_auth == "service_app":
                # The key stays in its 0600 file next to the CA (and in the 0600 secrets file above).
                _, key_path = sb.okta_service_app()
                print(f"  service app key    export ODATUI_OKTA__PRIVATE_KEY=\"$(cat {key_path})\"", flush=True)
        if args.fault_rate:
            print(f"  faults             {args.fault_rate:.0%} of requests fail (seed {args.seed}); odatui retries "
                  "them, and a step that still fails is retried with `r` in the wizard or `odatui retry`",
                  flush=True)
        again = (" A written config works again after a restart with the same --port." if args.port else
                 " With --port 0 its folder goes when it stops; give a --port to keep a written config working.")
        print("Press Ctrl-C to stop." + (again if getattr(args, "write_config", None) else ""), flush=True)
        threading.Event().wait()  # until Ctrl-C (KeyboardInterrupt)
    except KeyboardInterrupt:
        print("\nsandbox stopped", flush=True)
    finally:
        sb.stop()
        if getattr(args, "write_config", None) and not args.port:
            shutil.rmtree(sb.data_dir, ignore_errors=True)  # its own folder; a restart gets another port anyway
    return 0
