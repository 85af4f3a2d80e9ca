"""Shared plumbing every layer above uses: config, secrets, run state and locks, the one HTTP transport,
the log, events, domain facts and errors. It imports nothing above itself (pyproject's layers
contracts)."""
