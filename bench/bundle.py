"""Cold start from the deployment package itself: importing app.py the way a Lambda sandbox does.

The package is built by `onetrip package` (into a temporary directory) and unpacked twice: as built
(with the `.pyc` files `infra/onetrip/bytecode.py` adds) and with those removed (sources only, what
`chalice package` alone ships). Each probe is a fresh `python -S` interpreter that may not write
bytecode (a sandbox's code directory is read-only), timing `import app`; the two are interleaved.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

RUNS = 9
_PROBE = ("import sys, time\nsys.path[:0] = [{root!r}]\nt0 = time.perf_counter()\nimport app\n"
          "print((time.perf_counter() - t0) * 1000)")


def _unpack(bundle: Path, into: Path, keep_bytecode: bool) -> Path:
    with zipfile.ZipFile(bundle) as zf:
        for info in zf.infolist():
            if keep_bytecode or not info.filename.endswith(".pyc"):
                zf.extract(info, into)
    return into


def _import_ms(root: Path) -> float:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONDONTWRITEBYTECODE": "1", "AWS_DEFAULT_REGION": "us-east-1",
           "ONETRIP_STAGE": "dev", "POWERTOOLS_SERVICE_NAME": "onetrip"}
    out = subprocess.run([sys.executable, "-S", "-c", _PROBE.format(root=str(root))], cwd=root, env=env,
                         capture_output=True, text=True, timeout=120, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def run(runs: int = RUNS) -> dict[str, Any]:
    from infra.onetrip.package import build

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="onetrip-bundle-") as tmp:
        pkg = build("dev", Path(tmp) / "dist", lint=False, log=lambda _msg: None)
        with zipfile.ZipFile(pkg.code) as zf:
            names = zf.namelist()
        roots = {"with bytecode": _unpack(pkg.code, Path(tmp) / "compiled", True),
                 "sources only": _unpack(pkg.code, Path(tmp) / "sources", False)}
        times: dict[str, list[float]] = {name: [] for name in roots}
        for _ in range(runs):
            for name, root in roots.items():
                times[name].append(_import_ms(root))
        bundle_bytes = pkg.code.stat().st_size
        shutil.rmtree(Path(tmp) / "dist", ignore_errors=True)
    medians = {name: round(statistics.median(v), 1) for name, v in times.items()}
    return {
        "runs": runs, "python": sys.version.split()[0], "bundle_bytes": bundle_bytes,
        "pyc_files": sum(n.endswith(".pyc") for n in names), "files": len(names),
        "import_ms_median": medians, "import_ms_all": {k: [round(x, 1) for x in v] for k, v in times.items()},
        "ratio_bytecode_to_sources": round(medians["with bytecode"] / medians["sources only"], 2),
        "seconds": round(time.perf_counter() - started, 1),
    }


def table(result: dict[str, Any]) -> str:
    m = result["import_ms_median"]
    return (f"Import app.py from the deployment package (read-only, -S; median of {result['runs']}):\n"
            f"  with bytecode {m['with bytecode']} ms, sources only {m['sources only']} ms "
            f"(ratio {result['ratio_bytecode_to_sources']}); {result['pyc_files']} .pyc of {result['files']} files, "
            f"{result['bundle_bytes'] / 1e6:.1f} MB zipped")
