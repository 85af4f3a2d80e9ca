"""Sandbox start-up: from `Sandbox().start()` to the first answered HTTPS request (target < 1 s), and the
steady request rate of the Okta emulator over one keep-alive connection."""

from __future__ import annotations

import ssl
import statistics
import time


def _startup_once() -> tuple[float, float]:
    import httpx

    from odatui.sandbox.server import Sandbox

    t0 = time.perf_counter()
    sb = Sandbox().start()
    try:
        with httpx.Client(verify=ssl.create_default_context(cafile=str(sb.ca_path))) as http:
            http.get(f"{sb.url}/.well-known/okta-organization").raise_for_status()
            first = time.perf_counter() - t0
            # throughput, not Okta's per-minute limit, is measured here
            http.post(f"{sb.url}/_sandbox/okta/settings", json={"rate_limits": {"apps": 1_000_000}})
            n, t1 = 200, time.perf_counter()
            for _ in range(n):
                http.get(f"{sb.url}/api/v1/apps", params={"limit": 20},
                         headers={"Authorization": "SSWS sandbox-okta-token"}).raise_for_status()
            rate = n / (time.perf_counter() - t1)
    finally:
        sb.stop()
    return first, rate


def run() -> list[dict]:
    runs = [_startup_once() for _ in range(5)]
    firsts = sorted(r[0] for r in runs)
    return [
        {"name": "sandbox start → first answered request (median of 5)", "value": round(statistics.median(firsts), 3),
         "unit": "s", "target": "< 1"},
        {"name": "sandbox start → first answered request (worst of 5)", "value": round(firsts[-1], 3),
         "unit": "s", "target": "< 1"},
        {"name": "Okta emulator GET /api/v1/apps (one connection)", "value": round(statistics.median(r[1] for r in runs)),
         "unit": "req/s", "target": "-"},
    ]


if __name__ == "__main__":
    for row in run():
        print(f"{row['name']}: {row['value']} {row['unit']} (target {row['target']})")
