"""Cold start: the API never pays for the file parsers. pypdf, Pillow, filetype and defusedxml are
imported only inside verification, and the probe below shows the check can see them when they are."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PARSERS = ("pypdf", "PIL", "filetype", "defusedxml")


def imported_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys\nprint(','.join(m for m in {PARSERS!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    return {m for m in result.stdout.strip().split(",") if m}


def test_importing_the_app_and_wiring_its_dependencies_imports_no_parser():
    code = ("import app\nfrom chalicelib.bootstrap import build_deps\nfrom chalicelib.config import Settings\n"
            "build_deps(Settings(), make_client=lambda name: object())")
    assert imported_after(code) == set()


def test_verifying_a_file_imports_the_parsers_it_needs():
    code = ("from chalicelib.domain.file_checks import ContentLimits, inspect_content\n"
            "from chalicelib.domain.materials import sniff_type\n"
            "from tests import hostile_corpus as c\n"
            "pdf, png, ofd = c.pdf_plain(), c.png_bomb(side=1), c.ofd_minimal()\n"
            "assert sniff_type(pdf) == 'pdf'\n"
            "assert [inspect_content(k, d, ContentLimits()) for k, d in (('pdf', pdf), ('png', png), ('ofd', ofd))] "
            "== [[], [], []]")
    assert imported_after(code) == {"pypdf", "PIL", "filetype", "defusedxml"}
