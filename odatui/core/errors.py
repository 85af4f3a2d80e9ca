"""One family of errors that the CLI and the TUI turn into a readable message (never a traceback).

Every error carries what went wrong (`message`), what to do about it (`hint`) and the process exit code
(README, "Exit codes"): 1 a step failed · 2 bad usage or config · 3 a step needs the admin · 4 secrets unavailable.
"""

from __future__ import annotations


class OdatuiError(Exception):
    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  → {self.hint}"


class UsageError(OdatuiError):
    """Bad command-line usage or a bad config value."""

    exit_code = 2


class ConfigError(UsageError):
    """The config file or an environment override is malformed."""


class PackageError(OdatuiError):
    """The Okta Verify package is not usable (not a flat package, another product, …)."""

    exit_code = 2


class StateError(OdatuiError):
    """The run state is locked by another odatui or cannot be written."""

    exit_code = 2


class SecretsUnavailable(OdatuiError):
    """The OS keychain cannot be reached, or a needed secret is not stored anywhere."""

    exit_code = 4


class StepError(OdatuiError):
    """A step failed. `retryable` tells the engine whether trying again can help (network, 429, 5xx)."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None, retryable: bool = False) -> None:
        super().__init__(message, hint=hint)
        self.retryable = retryable


class ApiError(StepError):
    """A vendor API call failed, in one shape for every client: `status` (the HTTP status; 0 or None when no
    answer came back), `code` (the vendor's error code, if any), `operation` (what odatui was doing), plus the
    `message`, `hint` and `retryable` of every StepError. `OktaApiError` and `Ws1ApiError` subclass it and keep
    their own vendor-specific attributes."""

    def __init__(self, message: str, *, status: int | None, code: object = None, operation: str = "",
                 hint: str | None = None, retryable: bool | None = None) -> None:
        if retryable is None:
            retryable = retryable_status(status)
        super().__init__(message, hint=hint, retryable=retryable)
        self.status = status
        self.code = code
        self.operation = operation


def retryable_status(status: int | None) -> bool:
    """Whether trying again can help: no answer at all, a rate limit (429) or a server error (5xx)."""
    return not status or status == 429 or status >= 500


class NeedsAction(OdatuiError):
    """A step cannot go on until the admin does something by hand (text says exactly what)."""

    exit_code = 3
