"""bot/ is the core and handlers/ the Slack side: bot never imports handlers (import-linter
checks the source; this checks what is loaded), and the app is composed from a registrar, so
bot builds an app with no handler at all when given one of its own."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile

from bench.common import ROOT

SETTINGS = """
import json, sys
from bot.config import Settings
from bot.services import open_services
settings = Settings(_env_file=None, data_dir=sys.argv[1], slack_bot_token="xoxb-t",
                    slack_signing_secret="s")
"""


def run(code: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as data:
        done = subprocess.run(
            [sys.executable, "-c", SETTINGS + code, data],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_every_bot_module_loads_without_handlers():
    found = run("""
import importlib, pkgutil, bot
names = [m.name for m in pkgutil.walk_packages(bot.__path__, "bot.")]
for name in names:
    importlib.import_module(name)
print(json.dumps({"modules": len(names), "handlers": sorted(
    m for m in sys.modules if m == "handlers" or m.startswith("handlers."))}))
""")
    assert found["modules"] > 50 and found["handlers"] == []


def test_the_app_is_composed_from_the_registrar_it_is_given():
    found = run("""
from bot.app import create_app
seen = []
async def only(ack):
    await ack()
def register(app, given):
    seen.append(given is settings)
    app.command("/only")(only)
app = create_app(open_services(settings), register)
print(json.dumps({"seen": seen, "handlers": "handlers" in sys.modules,
                  "listeners": len(app._async_listeners)}))
""")
    assert found == {"seen": [True], "handlers": False, "listeners": found["listeners"]}
    default = run("""
from bot.app import create_app
app = create_app(open_services(settings))
print(json.dumps({"handlers": "handlers" in sys.modules, "listeners": len(app._async_listeners)}))
""")
    assert default["handlers"] is True and default["listeners"] > found["listeners"]
