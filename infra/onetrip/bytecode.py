"""Compiled bytecode inside the deployment package.

`chalice package` ships sources only, and a Lambda sandbox cannot write `__pycache__` (its code
directory is read-only), so every cold start compiles every module it imports — ours and botocore's,
pydantic's, Powertools' — again. Adding `.pyc` files compiled with the unchecked-hash invalidation
mode (valid whatever the files' timestamps, which the package normalises) lets the runtime load them
instead. They must come from the runtime's minor version: the package is built by the same Python
as the functions' runtime (chalice picks the runtime from the packaging interpreter).
"""

from __future__ import annotations

import compileall
import py_compile
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

# Zip entries keep one fixed time, as chalice's own entries do: the same code gives the same bytes.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def add_bytecode(bundle: Path, runtime: str) -> dict[str, int]:
    """Rewrite the zip at `bundle` with a `__pycache__/*.pyc` next to every compilable module."""
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if runtime != here:
        raise ValueError(f"bytecode for {runtime} cannot be compiled by {here}")
    with tempfile.TemporaryDirectory(prefix="onetrip-bytecode-") as tmp:
        root = Path(tmp) / "code"
        with zipfile.ZipFile(bundle) as zf:
            modes = {i.filename: i.external_attr for i in zf.infolist()}
            zf.extractall(root)
        compileall.compile_dir(str(root), quiet=2, workers=0,
                               invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        files = sorted(p for p in root.rglob("*") if p.is_file())
        rebuilt = bundle.with_suffix(".tmp")
        with zipfile.ZipFile(rebuilt, "w", compression=zipfile.ZIP_DEFLATED) as out:
            for path in files:
                name = path.relative_to(root).as_posix()
                info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
                info.external_attr = modes.get(name, 0o644 << 16)
                info.compress_type = zipfile.ZIP_DEFLATED
                out.writestr(info, path.read_bytes())
        compiled = sum(1 for p in files if p.suffix == ".pyc")
        shutil.move(str(rebuilt), bundle)
    return {"modules_compiled": compiled, "files": len(files), "bytes": bundle.stat().st_size}
