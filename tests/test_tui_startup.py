"""Start-up order: `odatui` / `odatui demo` leave the log file to the app's start-up worker (after the first paint);
every other command opens it before its handler runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from odatui.tui.app import OdatuiApp

PROBE = """
import sys, importlib
module, func, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
seen = {}
mod = importlib.import_module(module)
setattr(mod, func, lambda args: seen.setdefault("log", "odatui.core.log" in sys.modules) and 0)
from odatui.cli.main import main
main(argv)
print(seen["log"])
"""


@pytest.mark.parametrize("argv,module,func,opened", [
    (["demo"], "odatui.cli.demo", "run_demo", False),
    ([], "odatui.tui.launch", "run_wizard", False),
    (["demo", "--unattended"], "odatui.cli.demo", "run_demo", True),
    (["serve"], "odatui.tui.launch", "run_serve", True),
    (["plan"], "odatui.cli.runner", "cmd_plan", True),
])
def test_log_opened_before_the_handler_except_for_the_full_screen_commands(argv, module, func, opened):
    out = subprocess.run([sys.executable, "-c", PROBE, module, func, *argv], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == str(opened)


async def test_the_app_opens_the_log_in_its_start_up_worker(isolated_home):
    from support.static_session import StaticSession

    app = OdatuiApp(StaticSession(), still=True, open_log=True)
    async with app.run_test(size=(80, 24)) as pilot:
        for _ in range(100):
            if app.loaded is not None:
                break
            await pilot.pause(0.02)
    assert app.log_path is not None and app.log_path.is_file()
    assert str(app.log_path).startswith(str(isolated_home))
