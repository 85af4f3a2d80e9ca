"""The command line: `main` (the entry point: parse argv, pick a face, map errors to exit codes) and one
module per command that renders service results as lines or JSON. Nothing is imported here, so
`odatui --help` stays fast."""
