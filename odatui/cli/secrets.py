"""`odatui secrets set/delete/status`: the keychain entries for the configured org and tenant."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

from odatui.core.config import load_config
from odatui.core.errors import UsageError
from odatui.core.files import SECRET_LIMIT, read_stream_bounded, read_text_bounded
from odatui.core.secrets import SECRETS, SecretStore, target_for
from odatui.service.secret_values import check_kind


def cmd_secrets(args) -> int:
    config = load_config(Path(args.config) if args.config else None)
    store = SecretStore()
    if args.action == "status":
        probe = store.probe()
        print(f"keychain: {probe.state.value} ({probe.backend}){': ' + probe.detail if probe.detail else ''}")
        for name, where in store.status_for(config).items():
            print(f"  {name:<18} {where:<9} {SECRETS[name][1]}")
        if not probe.ok:
            print("\n" + probe.fix)
        return 0
    if not args.name:
        raise UsageError(f"`odatui secrets {args.action}` needs a secret name", hint="one of: " + ", ".join(SECRETS))
    target = target_for(args.name, config) if args.name in SECRETS else ""
    if args.action == "delete":
        removed = store.delete(args.name, target)
        print(f"{args.name}: {'deleted' if removed else 'was not stored'}")
        return 0
    if args.from_file:  # a regular file of at most 64 KiB: a FIFO or /dev/zero is refused, not waited on
        value = read_text_bounded(args.from_file, limit=SECRET_LIMIT, what="secret file").strip()
    elif sys.stdin.isatty():
        value = getpass.getpass(f"{SECRETS.get(args.name, ('', args.name))[1]} (not echoed): ").strip()
    else:  # piped in, for scripts: never as an argument, where `ps` would show it
        value = read_stream_bounded(sys.stdin, limit=SECRET_LIMIT, what="secret").strip()
    check_kind(args.name, value)
    store.set(args.name, value, target)
    print(f"{args.name}: stored in the keychain for {target or 'this target'}")
    return 0
