"""What a lint finding is, and the list the rule families of `odatui.macos.lint` add to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Finding:
    severity: str  # "error" | "warning"
    code: str  # stable short id, e.g. "team-id"; tests and the verify step match on it
    message: str  # what is wrong and what to do, as a sentence

    def __str__(self) -> str:
        return f"{self.severity}: {self.message}"


def errors(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error"]


def host_of_url(url: Any) -> str | None:
    if not isinstance(url, str) or "://" not in url:
        return None
    return urlsplit(url).netloc.lower() or None


class Findings(list):
    """The findings of one lint, in the order the rules run; each rule family adds to it."""

    def err(self, code: str, message: str) -> None:
        self.append(Finding("error", code, message))

    def warn(self, code: str, message: str) -> None:
        self.append(Finding("warning", code, message))


Hosts = list[tuple[str, str]]  # (where, host): every org host the profile names, compared at the end
