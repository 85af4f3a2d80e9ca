"""odatui's benchmarks: each `bench_*.py` exposes `run() -> list[dict]` with rows {name, value, unit, target};
`python -m benchmarks.run` runs them all and writes docs/PERFORMANCE.md."""
