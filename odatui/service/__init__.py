"""The application layer both faces call (the CLI in odatui/cli/runner.py & co, the wizard in odatui/tui/session.py):
plan, apply, retry, test connection, status, devices, repush, export, bundle, remove. Everything here returns
data; printing and drawing stay in the faces. Modules are imported one by one, never from here, so a face pays
only for what it uses."""
