"""`chalicelib.lazy.deferred`: a module stand-in that imports on first attribute access, once."""

from __future__ import annotations

import ast
import importlib
import sys
import threading
import types
from pathlib import Path

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



def _deferred_bindings(path: Path, package: str) -> list[tuple[str, str, str | None]]:
    """(alias, deferred target, module the `if TYPE_CHECKING:` branch imports under that alias)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
            continue
        seen: dict[str, str] = {}
        for stmt in node.body:
            if isinstance(stmt, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - (stmt.level - 1)] if stmt.level else []
                prefix = ".".join([*base, *([stmt.module] if stmt.module else [])])
                for name in stmt.names:
                    seen[name.asname or name.name] = f"{prefix}.{name.name}"
        for stmt in node.orelse:
            if (isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call)
                    and getattr(stmt.value.func, "id", "") == "deferred"):
                alias = stmt.targets[0].id  # type: ignore[attr-defined]
                target = stmt.value.args[0].value  # type: ignore[attr-defined]
                out.append((alias, target, seen.get(alias)))
    return out


def test_every_deferred_module_exists_and_is_the_one_type_checkers_see():
    """A typo in `deferred("...")` would only fail on the first request of that route: catch it here, and
    check that each stand-in is the module its `if TYPE_CHECKING:` import names (what mypy checks)."""
    root = Path(__file__).resolve().parents[2]
    checked = 0
    for path in (root / "chalicelib").rglob("*.py"):
        package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
        for alias, target, typed in _deferred_bindings(path, package):
            assert typed == target, (path.name, alias, target, typed)
            assert importlib.import_module(target).__name__ == target
            checked += 1
    assert checked >= 30  # the entrypoints' services and schemas, the adapters' domain models
