"""An MDM plug-in's page of the wizard, declared as data (odatui.mdm.Mdm.wizard_page): the TUI draws it
(odatui.tui.screens.mdm), so the wizard holds no MDM's field list of its own."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class WizardField:
    """One field of the MDM's wizard page, in order (after Harlequin's adapter options, harlequin/options.py: one
    declaration feeds the form). `key` is the dotted config field (`ws1.api_url`) or, for a secret, its keychain
    name (`ws1.password`); `id` the widget's id; `group` the sign-in kind (`auth`) the field belongs to, "" for
    every kind; `check` the name its validator says ("Client secret is required…")."""

    id: str
    label: str
    key: str
    kind: str = "text"  # "text" | "secret" | "choice" | "auth" (the sign-in kind) | "waves" (a group per wave)
    group: str = ""
    placeholder: str = ""
    hint: str = ""
    check: str = ""
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class WizardPage:
    """The MDM's page of the wizard: its title, one line under it, the help (Markdown), its fields and the
    preflight step its Test connection runs."""

    title: str
    excerpt: str
    help: str
    preflight: str
    default_auth: str
    fields: tuple[WizardField, ...] = field(default_factory=tuple)
