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


def _collections_during(setup: str, code: str) -> dict:
    """Run `setup`, then `code` in a fresh interpreter; the generations of the collections that started
    while `code` ran, and how many objects it froze."""
    probe = ("import gc, json, os\nos.environ.setdefault('AWS_DEFAULT_REGION', 'us-east-1')\nduring = []\n"
             f"{setup}\nfrozen = gc.get_freeze_count()\n"
             "gc.callbacks.append(lambda phase, info: phase == 'start' and during.append(info['generation']))\n"
             f"{code}\ngc.callbacks.clear()\n"
             "print(json.dumps({'during': during, 'newly_frozen': gc.get_freeze_count() - frozen,"
             " 'enabled': gc.isenabled()}))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_deferred_module_is_imported_on_first_use_without_collections_and_then_frozen():
    seen = _collections_during("from chalicelib.lazy import deferred\ncatalogue = deferred('chalicelib.domain.catalogue')",
                               "catalogue.ServiceItem")
    assert seen == {"during": [], "newly_frozen": seen["newly_frozen"], "enabled": True}
    assert seen["newly_frozen"] > 1_000


def test_an_aws_client_is_built_without_collections_and_then_frozen():
    seen = _collections_during("from chalicelib.adapters.aws import client", "client('dynamodb')")
    assert seen["during"] == [] and seen["enabled"]
    assert seen["newly_frozen"] > 10_000


def test_the_file_checks_parser_is_imported_once_without_collections_and_then_frozen():
    seen = _collections_during("from chalicelib.adapters.sandbox import preload_once", "preload_once('pdf')")
    assert seen["during"] == [] and seen["enabled"]
    assert seen["newly_frozen"] > 10_000
    again = _collections_during("from chalicelib.adapters.sandbox import preload_once\npreload_once('pdf')",
                                "preload_once('pdf')")
    assert again["newly_frozen"] == 0  # a warm container freezes nothing per file
