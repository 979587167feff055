"""Build chalicelib/domain/data/gb2260_prefectures.json from the GB/T 2260 revisions in the `gb2260`
package (dev dependency): every province (2-digit) and prefecture (4-digit) code that any revision
lists. ID numbers keep the region code of their issuance, so older codes must stay valid; the table
is the union of all revisions, and checking at prefecture level tolerates county codes abolished
before the oldest revision the package carries."""

from __future__ import annotations

import json
from pathlib import Path

from gb2260 import data

OUT = Path(__file__).resolve().parents[2] / "chalicelib" / "domain" / "data" / "gb2260_prefectures.json"


def main() -> None:
    provinces: dict[str, str] = {}
    prefectures: dict[str, str] = {}
    for revision in data.data.values():
        for code, name in revision.items():
            text = f"{code:06d}"
            if text.endswith("0000"):
                provinces.setdefault(text[:2], name)
            elif text.endswith("00"):
                prefectures.setdefault(text[:4], name)
    for code in list(prefectures):
        if code[:2] not in provinces:
            del prefectures[code]
    # Municipalities list their districts under 01/02 without a named prefecture level.
    for revision in data.data.values():
        for code in revision:
            text = f"{code:06d}"
            if text[:2] in provinces and not text.endswith("00"):
                prefectures.setdefault(text[:4], provinces[text[:2]])
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"source": "GB/T 2260 revisions 2002-2013 (gb2260 0.4.1), union",
                               "provinces": dict(sorted(provinces.items())),
                               "prefectures": dict(sorted(prefectures.items()))},
                              ensure_ascii=False, indent=0, sort_keys=False))


if __name__ == "__main__":
    main()
