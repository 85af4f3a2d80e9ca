"""A wizard session with fixed answers and a fixed plan, for snapshots and Pilot tests: nothing here reaches a
tenant. It implements odatui.tui.session.WizardSession with the real Session's signatures
(tests/test_tui_session.py checks both), and its steps — ids, titles, needs — are the product's own, through the
service (odatui.service.run.step_views), so a snapshot never shows a title the real wizard would not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from odatui.sandbox.samplepkg import make_sample_pkg

PKG_DIR = Path("/tmp/odatui-snapshot")  # a fixed path: it is shown on the Rollout screen


def fixed_config() -> Any:
    from odatui.core.config import parse_config

    PKG_DIR.mkdir(exist_ok=True)
    pkg = PKG_DIR / "OktaVerify-9.52.0.pkg"
    if not pkg.exists():
        make_sample_pkg(pkg, version="9.52.0")
    return parse_config({
        "okta": {"org_url": "https://acme.okta.com", "groups": ["Mac Pilot"]},
        "ws1": {"api_url": "https://as1234.awmdm.com", "username": "odatui-api", "group_id": "ACME",
                "smart_group": "Okta PSSO Macs"},
        "rollout": {"package": str(pkg), "macos_min": 14},
    })


def product_titles() -> list[tuple[str, str]]:
    """(step id, title) of every step of a run of the fixed answers, in run order: the product's own."""
    from odatui.service.run import step_views

    return [(view.id, view.title) for view in step_views(fixed_config())]


TITLES = product_titles()
TITLE = dict(TITLES)


def _changes() -> dict[str, dict[str, Any]]:
    """What the fixed plan says per step (the rest of each row — id, title, needs — is the step's own)."""
    from odatui.steps.base import Change, ChangeKind

    none, create = ChangeKind.NONE, ChangeKind.CREATE
    return {
        "preflight.okta": {"change": Change(none, "acme.okta.com: Identity Engine, Okta Verify active")},
        "preflight.ws1": {"change": Change(none, "ACME (id 7), smart group 42")},
        "preflight.package": {"change": Change(none, "com.okta.mobile 9.52.0, 0.1 MB")},
        "okta.app": {"change": Change(ChangeKind.NEEDS_ACTION, "add the Platform SSO app in the Admin Console")},
        "okta.assign": {"hint": "decided once okta.app has run"},
        "ws1.upload": {"change": Change(create, "upload Okta Verify 9.52.0 as an internal app")},
        "ws1.assign": {"hint": "decided once ws1.upload has run"},
        "ws1.profile": {"error": "the client ID is not known yet", "hint": "add the app first"},
        "verify": {"hint": "decided once the others have run"},
    }


class StaticSession:
    """The wizard's session with fixed answers (odatui.tui.session.WizardSession)."""

    is_demo = False
    file_existed = False  # as for a first run: Review writes the new answers file without asking

    def __init__(self) -> None:
        from odatui.core.secrets import SecretStore

        self.config = fixed_config()
        self.secrets = SecretStore(use_keychain=False)
        self.typed = {"okta.api_token": "fixed-token-value", "ws1.password": "pw", "ws1.tenant_code": "tc"}
        self.config_path = "~/.config/odatui/config.toml"
        self.demo = None

    def load(self):
        from odatui.tui.session import Loaded

        return Loaded(self.config_path, True, None, False,
                      "Keychain no backend: no keychain backend is available in this session. "
                      "Secrets will be kept for this session only.",
                      "Start a D-Bus session with an unlocked gnome-keyring, then run odatui inside it:\n"
                      "    dbus-run-session -- sh")

    def load_other(self, path: str) -> str:
        raise NotImplementedError("the fixed session loads no other file")

    def secret(self, name: str) -> str:
        return self.typed.get(name, "")

    def secret_source(self, name: str) -> str:
        return "this session only" if name in self.typed else "not set"

    def keep(self, name: str, value: str) -> None:
        self.typed[name] = value

    def remember(self, values: dict[str, str]) -> list[str]:
        self.typed.update({k: v for k, v in values.items() if v})
        return []

    def save(self) -> str:
        return self.config_path

    def unsaved(self) -> dict[tuple[str, str], Any]:
        return {}

    def must_ask_to_save(self) -> bool:
        return False

    def previous_run(self) -> dict[str, str]:
        return {}

    def steps(self) -> list[Any]:
        from odatui.service.run import step_views

        return step_views(self.config)

    def check_start(self, run: Any = None) -> None:
        """The service's start checks: these answers pass them (a refused config is tests/test_tui_review_refuses)."""

    def open_run(self, **kwargs: Any) -> Any:
        raise NotImplementedError("the fixed session runs nothing: snapshots feed the run screen scripted events")

    async def plan(self) -> list[Any]:
        from odatui.engine.plan import PlanRow

        changes = _changes()
        rows = []
        for view in self.steps():
            says = changes.get(view.id, {"hint": f"decided once {', '.join(view.needs)} has run"})
            rows.append(PlanRow(view.id, view.title, view.needs, says.get("change"), error=says.get("error"),
                                hint=says.get("hint")))
        return rows

    async def test_connection(self, step_id: str) -> tuple[bool, str]:
        raise NotImplementedError("the fixed session has no tenant to test")

    async def removal_plan(self) -> Any:
        raise NotImplementedError("the fixed session has no tenant to remove from")

    async def remove(self) -> tuple[int, str]:
        raise NotImplementedError("the fixed session has no tenant to remove from")

    def export_profiles(self, out_dir: Path | None = None) -> list[Path]:
        from odatui.service.profiles import build_files
        from odatui.macos.payloads import PssoSettings

        out = out_dir if out_dir is not None else Path.home() / "odatui-export"  # the real export's names
        settings = PssoSettings.from_org_url("https://acme.okta.com", "0oa1b2c3d4e5f6g7h8i9", 14)
        return [out / name for name in build_files(settings)]

    def write_bundle(self, out: Path) -> list[str]:
        raise NotImplementedError("the fixed session writes no bundle")

    async def rollout_status(self) -> dict[str, Any]:
        return {"devices": 36, "profile_installed": 12, "app_installed": 20}

    async def device_rows(self, on_rows: Any, *, only: set[int] | None = None, per_device: bool | None = None,
                          progress: Any = None) -> Any:
        from odatui.mdm.ws1.api.devices import DeviceRow, Summary

        rows = [DeviceRow(10001, "C02ABC123DEF", "grace-mac", "15.3.2", "grace.hopper", True, "installed",
                          "installed", "installed", "2027-09-01T00:00:00"),
                DeviceRow(10002, "C02XYZ987LMN", "alan-mac", "13.6.9", "alan.turing", True, "installed", "installed",
                          "installed", "2027-09-01T00:00:00", ["macOS 13.6.9 is below the floor 14"]),
                DeviceRow(10003, "C02QWE456RTY", "kate-mac", "14.7", "katherine.johnson", False, "failed", "pending",
                          "absent", None, ["not enrolled with user-approved MDM", "profile failed",
                                           "Okta Verify not installed"])]
        on_rows(rows, [])
        return Summary([42], devices=3, failing=2)

    async def repush(self, device_ids: list[int]) -> str:
        raise NotImplementedError("the fixed session has no tenant to push to")

    def demo_admin_action(self) -> None:
        raise NotImplementedError("the fixed session is not the demo")

    def close(self) -> None:
        pass
