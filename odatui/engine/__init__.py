"""The engine: plans and runs the steps and tells the faces what happens (odatui.core.events).

One job per module: `graph` (order, ancestors, descendants, selection, the config fields the steps need), `plan`
(inspect only), `scheduler` (the Engine facade, the controls a face calls, and a `Run` per run along the `needs`
graph), `step_run` (one step's run: inspect → apply and its error branches), `persist` (the state writer),
`delivery` (events to a face; the one progress coalescer), `target` (identity, locks, state file), `freshness`
(the live check), `exits` (THE exit-code table).

Import each name from its module: `odatui.cli.main` reads the exit codes from `odatui.engine.exits` at start-up
without importing the engine itself.
"""
