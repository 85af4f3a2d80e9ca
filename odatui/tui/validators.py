"""Textual validators that run the config model's own rules: set the field on a copy of the table model and report
the model's one-line message. So the wizard and `odatui apply` can never disagree about what is valid."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from textual.validation import ValidationResult, Validator


def groups_from_text(text: str) -> list[str]:
    return [part.strip() for part in text.split(",")] if text.strip() else []


class ConfigField(Validator):
    """`table.field` rule. `base()` gives the current table model (so cross-field rules see their neighbours)."""

    def __init__(self, table: str, field: str, base: Callable[[], Any], *, label: str, required: bool = False,
                 convert: Callable[[str], Any] | None = None) -> None:
        super().__init__()
        self.table, self.field, self.base = table, field, base
        self.label, self.required, self.convert = label, required, convert

    def validate(self, value: str) -> ValidationResult:
        if not value.strip():
            return self.failure(f"{self.label} is required") if self.required else self.success()
        message = field_error(self.base(), self.field, self.convert(value) if self.convert else value)
        return self.failure(message) if message else self.success()


def field_error(model: Any, field: str, value: Any) -> str | None:
    """None when `value` is valid for `model.field`, else the rule's message (pydantic's prefix removed)."""
    from pydantic import ValidationError

    copy = model.model_copy()
    try:
        setattr(copy, field, value)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "literal_error":
            msg = f"must be one of {err['ctx']['expected']}"
        return msg
    return None


class SecretPresent(Validator):
    """A secret the chosen access method needs; only checked for emptiness (the tenant checks the rest)."""

    def __init__(self, label: str, needed: Callable[[], bool]) -> None:
        super().__init__()
        self.label, self.needed = label, needed

    def validate(self, value: str) -> ValidationResult:
        if self.needed() and not value:
            return self.failure(f"{self.label} is required for this access method")
        if any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in value):
            return self.failure(f"{self.label} contains a control character (a pasted line break or escape)")
        return self.success()


class NoControlChars(Validator):
    """A pasted secret with a line break or tab in it: refused without echoing the value."""

    def __init__(self, label: str) -> None:
        super().__init__()
        self.label = label

    def validate(self, value: str) -> ValidationResult:
        if any(ord(c) < 32 or ord(c) == 127 for c in value):
            return self.failure(f"{self.label} contains control characters; paste it again")
        return self.success()


class ReadableFile(Validator):
    def __init__(self, label: str, needed: Callable[[], bool]) -> None:
        super().__init__()
        self.label, self.needed = label, needed

    def validate(self, value: str) -> ValidationResult:
        if not value.strip():
            return self.failure(f"{self.label} is required") if self.needed() else self.success()
        path = os.path.expanduser(value.strip())
        if not os.path.isfile(path):
            return self.failure(f"no file at {path}; give the path of the {self.label.lower()}")
        if not os.access(path, os.R_OK):
            return self.failure(f"{path} is not readable by this user; fix its permissions")
        return self.success()
