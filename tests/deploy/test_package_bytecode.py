"""The deployment package ships compiled bytecode a read-only Lambda sandbox can load: a `.pyc` beside
every module of ours and of the dependencies, hash-based and unchecked (chalice's zip entries carry
no real timestamps), compiled for the functions' runtime; and the app imports from the unpacked
package without writing bytecode."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from importlib.util import MAGIC_NUMBER, cache_from_source
from pathlib import Path

import pytest

from infra.onetrip.bytecode import add_bytecode

OURS = ("app.py", "chalicelib/domain/applications.py", "chalicelib/adapters/dynamodb.py")
DEPENDENCIES = ("pydantic/main.py", "botocore/session.py", "aws_lambda_powertools/logging/logger.py")


def _pyc(module: str) -> str:
    return Path(cache_from_source(module)).as_posix()


def test_every_module_is_shipped_with_unchecked_hash_bytecode_of_the_runtime(packages):
    with zipfile.ZipFile(packages["dev"].code) as zf:
        names = set(zf.namelist())
        for module in OURS + DEPENDENCIES:
            assert module in names and _pyc(module) in names, module
            header = zf.read(_pyc(module))[:8]
            assert header[:4] == MAGIC_NUMBER  # this Python's minor version, the runtime's
            assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, source never checked
        sources = [n for n in names if n.endswith(".py")]
        assert sum(n.endswith(".pyc") for n in names) >= 0.9 * len(sources)


def test_the_app_imports_from_the_shipped_bytecode_not_from_the_sources(packages, tmp_path):
    with zipfile.ZipFile(packages["dev"].code) as zf:
        zf.extractall(tmp_path)
    # Sources that would fail if compiled and run: the import succeeds only from the shipped bytecode.
    for module in ("chalicelib/domain/applications.py", "pydantic/main.py"):
        (tmp_path / module).write_text("raise SystemExit('the source was compiled')\n", encoding="utf-8")
    code = "import sys; sys.path[:0] = ['.']; import app; print(app.app.app_name)"
    out = subprocess.run([sys.executable, "-S", "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120, env={"AWS_DEFAULT_REGION": "us-east-1", "PYTHONDONTWRITEBYTECODE": "1"})
    assert (out.returncode, out.stdout.strip()) == (0, "onetrip"), out.stderr[-2000:]


def test_bytecode_for_another_runtime_is_refused(tmp_path):
    bundle = tmp_path / "b.zip"
    with zipfile.ZipFile(bundle, "w") as zf:
        zf.writestr("m.py", "X = 1\n")
    with pytest.raises(ValueError, match="cannot be compiled"):
        add_bytecode(bundle, "python3.9")
