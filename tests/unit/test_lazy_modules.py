"""`chalicelib.lazy.deferred`: a module stand-in that imports on first attribute access, once."""

from __future__ import annotations

import sys
import threading
import types

import pytest

from chalicelib.lazy import deferred

MODULE = "tests.lazy_target_module"


@pytest.fixture
def target(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A module whose import is recorded (its source runs once per import)."""
    imports: list[str] = []

    class Finder:
        def find_spec(self, name: str, path: object = None, target: object = None) -> object:
            if name != MODULE:
                return None
            import importlib.machinery

            class Loader:
                def create_module(self, spec: object) -> None:
                    return None

                def exec_module(self, module: types.ModuleType) -> None:
                    imports.append(threading.current_thread().name)
                    module.answer = 42  # type: ignore[attr-defined]

            return importlib.machinery.ModuleSpec(name, Loader())

    monkeypatch.setattr(sys, "meta_path", [Finder(), *sys.meta_path])
    monkeypatch.delitem(sys.modules, MODULE, raising=False)
    yield imports
    sys.modules.pop(MODULE, None)


def test_nothing_is_imported_until_an_attribute_is_read(target: list[str]):
    module = deferred(MODULE)
    assert target == [] and MODULE not in sys.modules
    assert "not imported yet" in repr(module)
    assert module.answer == 42
    assert target == ["MainThread"] and MODULE in sys.modules
    assert module.answer == 42 and len(target) == 1
    assert "imported" in repr(module) and "not" not in repr(module)


def test_threads_reading_at_once_import_the_module_once(target: list[str]):
    module = deferred(MODULE)
    barrier = threading.Barrier(8)
    seen: list[int] = []

    def read() -> None:
        barrier.wait()
        seen.append(module.answer)

    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [42] * 8 and len(target) == 1


def test_a_missing_attribute_is_an_attribute_error_and_a_missing_module_an_import_error(target: list[str]):
    with pytest.raises(AttributeError):
        _ = deferred(MODULE).no_such_name
    with pytest.raises(ModuleNotFoundError):
        _ = deferred("tests.no_such_module_here").anything
