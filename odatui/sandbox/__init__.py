"""Embedded Okta and Workspace ONE UEM emulators over real HTTPS on loopback (demo, tests, benchmarks)."""
