"""Workspace ONE UEM, the first MDM plug-in: `api` (its REST client), `steps` (the ws1.* steps and
verify) and `emulator` (the sandbox's Workspace ONE)."""
