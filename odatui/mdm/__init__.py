"""MDM plug-ins, one sub-package each: Workspace ONE UEM (`ws1`) is the first. A plug-in holds its steps,
its API client and its emulator together (issue 25: the `Mdm` Protocol they implement goes here)."""
