"""Figures for the package path: writing the demo package, reading a large one (parse only vs parse + SHA-256)
and the reader's peak Python allocation. Prints numbers; asserts nothing.

    /tmp/venv/bin/python benchmarks/bench_pkg.py [--mb 512]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from odatui.macos import pkg as pkgmod
from odatui.macos.pkginfo import pkginfo_plist
from odatui.sandbox.samplepkg import make_sample_pkg


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=512, help="payload size of the large package (MiB)")
    args = parser.parse_args()
    size = args.mb * 1024 * 1024
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "OktaVerify-big.pkg"
        t = time.perf_counter()
        make_sample_pkg(path, payload_size=size)
        made = time.perf_counter() - t
        mb = path.stat().st_size / 1e6
        print(f"make_sample_pkg   {mb:8.1f} MB in {made:6.2f} s  ({mb / made:7.1f} MB/s)")

        t = time.perf_counter()
        small = make_sample_pkg(Path(tmp) / "OktaVerify-demo.pkg")
        print(f"make_sample_pkg   default demo package in {(time.perf_counter() - t) * 1000:6.1f} ms")

        # Parse only: header + TOC + Distribution + PackageInfo, no hashing (what the size of the file can't slow).
        t = time.perf_counter()
        with path.open("rb") as f:
            x = pkgmod._Xar(f, path.stat().st_size, str(path))
            pkgmod._package_facts(x, str(path), path.stat().st_size, pkgmod.OKTA_VERIFY_ID)
        print(f"parse TOC+members {(time.perf_counter() - t) * 1000:8.2f} ms")

        for _ in range(2):  # second run has a warm page cache
            tracemalloc.start()
            t = time.perf_counter()
            facts = pkgmod.read_package(path)
            took = time.perf_counter() - t
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            print(f"read_package      {mb:8.1f} MB in {took:6.2f} s  ({mb / took:7.1f} MB/s)  "
                  f"peak alloc {peak / 1024:,.0f} KiB ({peak / facts.size_bytes:.4%} of file)")

        t = time.perf_counter()
        plist = pkginfo_plist(pkgmod.read_package(small), minimum_os=14)
        print(f"pkginfo (demo)    {len(plist)} bytes, read+generate {(time.perf_counter() - t) * 1000:6.1f} ms")


if __name__ == "__main__":
    main()
