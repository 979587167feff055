"""The layers hold: the domain and the use cases never import boto3, botocore or Chalice (ruff's
banned-api, configured in pyproject.toml), and the domain imports nothing of the other layers."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_banned_apis_stay_out_of_domain_and_services():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--select", "TID251", "chalicelib"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_banned_api_rule_really_catches_boto3(tmp_path):
    """The check above can fail: the same rule flags a boto3 import placed in the domain."""
    probe = ROOT / "chalicelib" / "domain" / "_probe_banned.py"
    probe.write_text("import boto3\n")
    try:
        result = subprocess.run([sys.executable, "-m", "ruff", "check", "--select", "TID251", str(probe)],
                                cwd=ROOT, capture_output=True, text=True)
    finally:
        probe.unlink()
    assert result.returncode == 1 and "TID251" in result.stdout


def test_domain_imports_only_the_domain():
    for path in (ROOT / "chalicelib" / "domain").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level >= 2:
                raise AssertionError(f"{path.name} imports from outside the domain: {node.module}")
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("chalicelib"):
                assert node.module.startswith("chalicelib.domain"), (path.name, node.module)


def test_app_import_builds_no_aws_client():
    """Cold start: importing app.py must not import boto3 (clients are built on first use)."""
    code = "import sys; import app; print('boto3' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
