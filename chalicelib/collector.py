"""The garbage collector at a cold start: paused while the app is imported, then told to leave the
imported code alone.

What an import creates (modules, classes, functions, route tables, pydantic validators) lives as
long as the sandbox, yet CPython's collector would walk all of it again: importing the app and the
modules of a first response set off a full collection that cost ≈ 35 ms of a ≈ 370 ms cold start
here (`python -m bench --only cold_start`). So no collection runs during the app's import, and
`gc.freeze()` then moves everything imported into the permanent generation, which no later
collection scans. It also keeps the pages of that memory unwritten in the file-check sandbox's
forked children (the use the Python documentation gives for `gc.freeze`).

The price: a reference cycle that became garbage during the import is never freed. Imports make
few of them, once per process.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_then_frozen() -> Iterator[None]:
    """Run the block without collections; afterwards freeze what exists and restore the collector.
    When the block raises, nothing is frozen (the process is failing its import anyway)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
        gc.freeze()
    finally:
        if was_enabled:
            gc.enable()
