"""The engine: plans and runs the steps and tells the faces what happens (odatui.core.events).

One job per module: `graph` (order, ancestors, descendants, selection), `plan` (inspect only), `scheduler` (the
Engine: a run along the `needs` graph), `run` (one step: inspect → apply and its error branches), `controls`
(retry, check now, cancel), `persist` (the state writer), `delivery` (events to a face; the one progress
coalescer), `target` (identity, locks, state file), `fields` (the config a run needs), `exits` (THE exit-code
table).

Import each name from its module: `odatui.cli.main` reads the exit codes from `odatui.engine.exits` at start-up
without importing the engine itself.
"""
