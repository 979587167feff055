"""Modules imported on first use, so that a cold start pays only for what its first event needs.

Every Lambda function imports app.py, and app.py registers every route and every event handler. The
services behind them (and the domain models those load) are imported when a handler first uses
one: `cases = deferred("chalicelib.services.cases")`, then `cases.submit_application(...)`. The
import itself is Python's own, so it is thread-safe and happens once per process.

Type checkers see the real module: write the import under `if TYPE_CHECKING:` and the `deferred`
call in the `else:` branch.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any

from .collector import paused_then_frozen


class DeferredModule:
    """Stands for a module until an attribute of it is read; then imports it and reads from it."""

    __slots__ = ("_module", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        module = self._module
        if module is None:
            module = sys.modules.get(self._name)
            if module is None:
                # What a first use imports lives as long as the process, as the app's own imports do.
                with paused_then_frozen():
                    module = importlib.import_module(self._name)
            self._module = module
        return getattr(module, attribute)

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not imported yet"
        return f"<deferred module {self._name!r}, {state}>"


def deferred(name: str) -> Any:
    """A stand-in for the module `name` (absolute), imported when first used."""
    return DeferredModule(name)
