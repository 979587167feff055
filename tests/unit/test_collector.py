"""The collector at a cold start: no collection while the app is imported, the imported objects frozen
out of later collections, and the collector restored whatever happens."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.collector import paused_then_frozen

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_app_runs_no_collection_freezes_what_it_imported_and_leaves_the_collector_on():
    # A collection that starts once chalice (the block's first import) is loaded ran inside the block.
    code = ("import gc, json, sys\nduring = []\n"
            "gc.callbacks.append(lambda phase, info: phase == 'start' and 'chalice' in sys.modules"
            " and during.append(info['generation']))\n"
            "import app\ngc.callbacks.clear()\n"
            "print(json.dumps({'enabled': gc.isenabled(), 'frozen': gc.get_freeze_count(), 'during': during}))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert seen["enabled"] is True
    assert seen["during"] == []
    # Every route, handler and model class of the app is in the permanent generation.
    assert seen["frozen"] > 10_000


def test_a_failing_import_freezes_nothing_and_turns_the_collector_back_on():
    frozen = gc.get_freeze_count()
    with pytest.raises(ImportError), paused_then_frozen():
        assert not gc.isenabled()
        raise ImportError("a module of the app is missing")
    assert gc.isenabled()
    assert gc.get_freeze_count() == frozen


def test_a_collector_that_was_off_stays_off():
    gc.disable()
    try:
        with paused_then_frozen():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
