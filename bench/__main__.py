"""`make bench`: run every benchmark, print one table, write bench/results/*.json."""

from __future__ import annotations

import json
from pathlib import Path

from bench import cold_start

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    RESULTS.mkdir(exist_ok=True)
    result = cold_start.run()
    (RESULTS / "cold_start.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(cold_start.table(result))
    print(f"\nwritten: {RESULTS / 'cold_start.json'}")


if __name__ == "__main__":
    main()
