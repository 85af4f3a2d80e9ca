"""Upload a large Okta Verify package to the sandbox's WS1 emulator, the way `ws1.upload` does, and compare:

- odatui client peak RSS growth during the upload (target < 64 MB: the .pkg is streamed, never loaded);
- odatui upload time vs `curl --data-binary @file` to the same endpoint in the same run (target ≤ 1.3×);
- the sandbox server's peak RSS (VmHWM) while it takes the upload (target < 100 MB: streamed to disk).

The sandbox runs in its own process (`python -m odatui sandbox`) so its memory is separable from the client's.
Each side uploads twice; the faster run counts (the first warms the page cache and TLS session).

    /tmp/venv/bin/python benchmarks/bench_upload.py [--mb 1024]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from odatui.sandbox.samplepkg import make_sample_pkg  # noqa: E402
from odatui.sandbox.server import WS1_PASSWORD, WS1_TENANT_CODE, WS1_USER  # noqa: E402

# 1000 MiB of payload: a "1 GB" package that stays under curl's 1 GiB cap for `--data-binary @file`
# (curl loads the file into memory and refuses bigger ones).
DEFAULT_MB = 1000
ENDPOINT = "/api/mam/blobs/uploadblob?fileName=OktaVerify.pkg&organizationGroupId=570&moduleType=Application"


def rss_kb(pid: int | str = "self", field: str = "VmRSS") -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class PeakRss:
    """Samples a process's RSS every few milliseconds while a block runs."""

    def __init__(self, pid: int | str = "self") -> None:
        self.pid, self.peak, self._stop = pid, 0, threading.Event()

    def __enter__(self) -> PeakRss:
        self.start = rss_kb(self.pid)
        self.peak = self.start
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss_kb(self.pid))

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_kb(self.pid))


def start_sandbox(data: Path) -> tuple[subprocess.Popen[str], str, str]:
    env = {**os.environ, "TMPDIR": str(data)}
    proc = subprocess.Popen([sys.executable, "-m", "odatui", "sandbox", "--port", "0", "--devices", "36"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            cwd=Path(__file__).resolve().parents[1])
    url = ca = ""
    deadline = time.monotonic() + 30
    assert proc.stdout is not None
    while not (url and ca) and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        if m := re.search(r"odatui sandbox on (https://\S+)", line):
            url = m.group(1)
        if m := re.search(r"CA certificate\s+(\S+)", line):
            ca = m.group(1)
    if not (url and ca):
        proc.kill()
        raise RuntimeError("the sandbox did not start: " + (proc.stdout.read() or ""))
    return proc, url, ca


def curl_upload(url: str, ca: str, pkg: Path, header_file: Path) -> float:
    t = time.perf_counter()
    out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", ca, "-H", f"@{header_file}",
                          "--data-binary", f"@{pkg}", url + ENDPOINT], capture_output=True, text=True)
    took = time.perf_counter() - t
    if out.returncode != 0 or out.stdout.strip() != "200":
        raise RuntimeError(f"curl upload answered {out.stdout} {out.stderr}")
    return took


def odatui_upload(url: str, ca: str, pkg: Path) -> tuple[float, int]:
    from odatui.core.config_tables import Ws1Config
    from odatui.core.secrets import SecretStore
    from odatui.mdm.ws1.api.client import Ws1Client

    cfg = Ws1Config(api_url=url, auth="basic", username=WS1_USER, group_id="ACME", smart_group="x", ca_bundle=ca)
    secrets = SecretStore(use_keychain=False, values={"ws1.password": WS1_PASSWORD, "ws1.tenant_code": WS1_TENANT_CODE})

    async def go() -> float:
        client = Ws1Client.from_config(cfg, secrets)
        try:
            t = time.perf_counter()
            await client.upload_blob(pkg, file_name="OktaVerify.pkg", og_id=570, module_type="Application",
                                     progress=lambda sent, total, rate: None)
            return time.perf_counter() - t
        finally:
            await client.aclose()

    with PeakRss() as mem:
        took = asyncio.run(go())
    return took, (mem.peak - mem.start) * 1024


def run(mb: int = DEFAULT_MB, quick: bool = False) -> list[dict]:
    if quick:
        mb = min(mb, 100)
    with tempfile.TemporaryDirectory(prefix="odatui-bench-upload-") as tmp:
        data = Path(tmp)
        pkg = make_sample_pkg(data / "OktaVerify-big.pkg", payload_size=mb * 1024 * 1024)
        size_mb = pkg.stat().st_size / 1e6
        header_file = data / "headers.txt"  # the demo credentials, kept out of curl's argv anyway
        auth = base64.b64encode(f"{WS1_USER}:{WS1_PASSWORD}".encode()).decode()
        header_file.write_text(f"Authorization: Basic {auth}\naw-tenant-code: {WS1_TENANT_CODE}\n"
                               "Accept: application/json;version=1\nContent-Type: application/octet-stream\n")
        proc, url, ca = start_sandbox(data)
        try:
            server_base = rss_kb(proc.pid)
            curl_times, odatui_times, growth = [], [], []
            with PeakRss(proc.pid) as server:
                for _ in range(2):
                    curl_times.append(curl_upload(url, ca, pkg, header_file))
                    took, grew = odatui_upload(url, ca, pkg)
                    odatui_times.append(took)
                    growth.append(grew)
            server_peak = max(server.peak, rss_kb(proc.pid, "VmHWM"))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    curl_best, odatui_best = min(curl_times), min(odatui_times)
    label = f"{size_mb:,.0f} MB"
    return [
        {"name": f"upload {label}: odatui client RSS growth", "value": round(max(growth) / 2**20, 1), "unit": "MB",
         "target": "< 64"},
        {"name": f"upload {label}: odatui time", "value": round(odatui_best, 2), "unit": "s",
         "target": f"≈ curl ({size_mb / odatui_best:,.0f} MB/s)"},
        {"name": f"upload {label}: curl --data-binary time", "value": round(curl_best, 2), "unit": "s",
         "target": f"reference ({size_mb / curl_best:,.0f} MB/s)"},
        {"name": f"upload {label}: odatui / curl time", "value": round(odatui_best / curl_best, 2), "unit": "×",
         "target": "≤ 1.3"},
        {"name": f"upload {label}: sandbox server peak RSS", "value": round(server_peak / 1024, 1), "unit": "MB",
         "target": f"< 100 (idle {server_base / 1024:.0f})"},
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=DEFAULT_MB,
                        help="package payload size in MiB (100 for a quick run; at most 1020, curl's limit)")
    args = parser.parse_args()
    for row in run(args.mb):
        print(f"{row['name']:<48} {row['value']:>9} {row['unit']:<3} target {row['target']}")


if __name__ == "__main__":
    main()
