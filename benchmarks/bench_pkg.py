"""The package path: writing the demo package, reading a large one (parse only vs parse + SHA-256) and the
reader's peak Python allocation, which must stay flat whatever the package size (≤ 8 MiB for a 512 MiB package;
64 MiB in quick mode).

    /tmp/venv/bin/python benchmarks/bench_pkg.py [--mb 512]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from odatui.macos import pkg as pkgmod
from odatui.macos.pkg_xar import Xar  # the reader split out of pkg.py (issue 17)
from odatui.macos.pkginfo import pkginfo_plist
from odatui.sandbox.samplepkg import make_sample_pkg

PEAK_ALLOC_TARGET_MIB = 8


def run(quick: bool = False, mb: int | None = None) -> list[dict]:
    quick = quick or os.environ.get("ODATUI_BENCH_QUICK") == "1"
    mb = mb or (64 if quick else 512)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "OktaVerify-big.pkg"
        t = time.perf_counter()
        make_sample_pkg(path, payload_size=mb * 1024 * 1024)
        made = time.perf_counter() - t
        size = path.stat().st_size
        file_mb = size / 1e6

        t = time.perf_counter()
        small = make_sample_pkg(Path(tmp) / "OktaVerify-demo.pkg")
        demo_ms = (time.perf_counter() - t) * 1000

        t = time.perf_counter()
        with path.open("rb") as f:  # header + TOC + Distribution + PackageInfo, no hashing
            pkgmod._package_facts(Xar(f, size, str(path)), str(path), size, pkgmod.OKTA_VERIFY_ID)
        parse_ms = (time.perf_counter() - t) * 1000

        reads = []
        for _ in range(2):  # the second read has a warm page cache
            tracemalloc.start()
            t = time.perf_counter()
            pkgmod.read_package(path)
            reads.append((time.perf_counter() - t, tracemalloc.get_traced_memory()[1]))
            tracemalloc.stop()
        peak = max(p for _, p in reads)

        t = time.perf_counter()
        pkginfo_plist(pkgmod.read_package(small), minimum_os=14)
        pkginfo_ms = (time.perf_counter() - t) * 1000
    label = f"pkg {file_mb:,.0f} MB"
    return [
        {"name": f"{label}: read_package (parse + SHA-256) peak Python allocation", "value": round(peak / 2**20, 2),
         "unit": "MiB", "target": PEAK_ALLOC_TARGET_MIB, "note": f"{peak / size:.4%} of the file"},
        {"name": f"{label}: read_package throughput, first read (just written)", "value": round(file_mb / reads[0][0], 1),
         "unit": "MB/s", "target": None, "better": "higher"},
        {"name": f"{label}: read_package throughput, second read", "value": round(file_mb / reads[1][0], 1),
         "unit": "MB/s", "target": None, "better": "higher"},
        {"name": f"{label}: parse TOC + Distribution + PackageInfo (no hashing)", "value": round(parse_ms, 2),
         "unit": "ms", "target": None},
        {"name": f"{label}: make_sample_pkg throughput", "value": round(file_mb / made, 1), "unit": "MB/s",
         "target": None, "better": "higher"},
        {"name": "pkg demo: make_sample_pkg of the demo package", "value": round(demo_ms, 1), "unit": "ms",
         "target": None},
        {"name": "pkg demo: read + pkginfo plist", "value": round(pkginfo_ms, 1), "unit": "ms", "target": None},
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=512, help="payload size of the large package (MiB)")
    for row in run(mb=parser.parse_args().mb):
        print(row)


if __name__ == "__main__":
    main()
