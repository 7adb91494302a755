"""The runtime leaves pandas and numpy out: sqlite-utils imports them when installed (the test
extras install them), about 77 MB and 0.3 s of start-up per process, for nothing the bot uses."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import tempfile

import pytest

from bench.common import ROOT

HEAVY = ["pandas", "numpy"]


@pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in HEAVY),
    reason="pandas and numpy are not installed: nothing could pull them in",
)
def test_the_bot_app_imports_neither_pandas_nor_numpy():
    # Everything `switchboard run` imports, then an app and its web surface built in memory.
    code = """
import json, sys
from bot import __main__, server, scheduler, console
from bot.app import create_app
from bot.config import Settings
from bot.services import open_services
from bot.web import create_web_app
import sqlite_utils.db
settings = Settings(_env_file=None, data_dir=sys.argv[1], slack_bot_token="xoxb-t",
                    slack_signing_secret="s")
services = open_services(settings)
create_web_app(create_app(services), services)
print(json.dumps({m: m in sys.modules for m in ("pandas", "numpy")}))
"""
    with tempfile.TemporaryDirectory() as data:
        done = subprocess.run(
            [sys.executable, "-c", code, data],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {"pandas": False, "numpy": False}


@pytest.mark.skipif(importlib.util.find_spec("pandas") is None, reason="pandas not installed")
def test_pandas_stays_importable_after_the_bot_for_code_that_wants_it():
    code = "import bot.app, pandas; print(pandas.DataFrame({'a': [1]}).shape)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "(1, 1)"
