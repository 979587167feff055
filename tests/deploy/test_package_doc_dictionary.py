"""The deployment package ships every registered `docz` dictionary byte for byte, and the functions find
it where they are unpacked: a document compressed there carries the dictionary and reads back."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from chalicelib.adapters import docz


def test_every_registered_dictionary_is_in_the_package_unchanged(packages):
    with zipfile.ZipFile(packages["dev"].code) as zf:
        for name in docz.DICTIONARIES:
            shipped = zf.read(f"chalicelib/data/{docz.dictionary_path(name).name}")
            assert shipped == docz.dictionary_path(name).read_bytes(), name


def test_the_unpacked_package_compresses_and_reads_with_its_dictionary(packages, tmp_path):
    with zipfile.ZipFile(packages["dev"].code) as zf:
        zf.extractall(tmp_path)
    code = ("import sys; sys.path[:0] = ['.']\n"
            "from chalicelib.adapters import docz, records\n"
            "item = records.compressed_doc('{\"status\":\"decided\"}')\n"
            "print(docz.DATA_DIR)\n"
            "print(docz.dictionary_id(item['docz']['B']) == docz.DICTIONARIES[docz.WRITING], records.doc(item))")
    out = subprocess.run([sys.executable, "-S", "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         timeout=120, env={"AWS_DEFAULT_REGION": "us-east-1", "PYTHONDONTWRITEBYTECODE": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    data_dir, result = out.stdout.strip().splitlines()
    assert Path(data_dir).resolve() == (tmp_path / "chalicelib" / "data").resolve()  # the package's, not the repo's
    assert result == "True {'status': 'decided'}"
