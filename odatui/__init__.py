"""odatui: roll out Okta Desktop Password Sync (Platform SSO) on Workspace ONE UEM from a terminal."""

__version__ = "0.1.0"
