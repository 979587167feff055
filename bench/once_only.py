"""Once-only: the share of materials obtained without an upload, in a simulation of life events.

Each bundle of the sample catalogue (infra/seed/catalogue/*.yaml: a life event such as opening a
business or moving home) is walked by one applicant who applies for each of its items in order,
answering each form with its first choices. Every material the answers make necessary is counted
by how it arrives, decided by the domain's own rules: from a department's records or the
e-certificate registry (`obtainable_from`; the registry is assumed to hold the applicant's
certificate), from the vault (a reusable material verified earlier in the same life event and still
usable for this spec: `VaultEntry.problems_for`), or as an upload (which enters the vault when the
spec is reusable).

    python -c "from bench import once_only as o; print(o.table(o.run()))"
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from chalicelib.domain.catalogue import MaterialSpec, ServiceItem
from chalicelib.domain.checklist import needed_materials
from chalicelib.domain.conditions import validate_answers
from chalicelib.domain.vault import VaultEntry

SOURCES = ("upload", "vault", "e_certificate", "department")
_NOW = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def _answers(item: ServiceItem) -> dict[str, Any]:
    first = {"enum": lambda f: f.choices[0].value, "boolean": lambda f: False,
             "integer": lambda f: f.minimum if f.minimum is not None else 1, "string": lambda f: "x",
             "date": lambda f: "2000-01-01"}
    raw = {f.name: first[f.type.value](f) for f in item.form}
    typed, _ = validate_answers(item.form, raw)
    return typed


def _kept(item: ServiceItem, spec: MaterialSpec) -> VaultEntry:
    return VaultEntry(owner="sub:simulated", material=spec.code, sha256="0" * 64, sealed_key="verified/x",
                      content_type=spec.accepted_mime_types[0], size=min(spec.max_size_bytes, 1024 * 1024),
                      application_id="app_simulated", item_code=item.code, item_version=item.version,
                      verified_at=_NOW.isoformat(), valid_until=_NOW.date() + timedelta(days=spec.valid_for_days or 0))


def simulate(bundle: list[ServiceItem]) -> dict[str, int]:
    counts = dict.fromkeys(SOURCES, 0)
    vault: list[VaultEntry] = []
    for item in bundle:
        for spec in needed_materials(item, _answers(item)):
            if spec.obtainable_from is not None:
                counts["e_certificate" if spec.obtainable_from.e_certificate else "department"] += 1
            elif any(not e.problems_for(spec, _NOW.date()) for e in vault if e.material == spec.code):
                counts["vault"] += 1
            else:
                counts["upload"] += 1
                if spec.valid_for_days is not None:
                    vault.append(_kept(item, spec))
    return counts


def run(catalogue_dir: Path | None = None) -> dict[str, Any]:
    from infra.onetrip.catalogue_files import CATALOGUE_DIR, load_items

    directory = catalogue_dir or CATALOGUE_DIR
    bundles = []
    total = dict.fromkeys(SOURCES, 0)
    for file in sorted(directory.glob("*.yaml")):
        items = load_items(file)
        counts = simulate(items)
        bundles.append({"life_event": file.stem, "items": len(items), **counts})
        for source in SOURCES:
            total[source] += counts[source]
    materials = sum(total.values())
    without = materials - total["upload"]
    return {"bundles": bundles, "total": total, "materials": materials, "without_upload": without,
            "share_without_upload": round(without / materials, 3) if materials else 0.0,
            "share_from_vault": round(total["vault"] / materials, 3) if materials else 0.0,
            "assumptions": "one applicant per life event, items in catalogue order, first-choice answers; "
                           "the registry holds every e-certificate a spec names"}


def table(result: dict[str, Any]) -> str:
    lines = ["Materials by how they arrive, one applicant per life event (sample catalogue)",
             f"{'life event':<18} {'items':>5} {'upload':>7} {'vault':>6} {'e-cert':>7} {'dept':>5}"]
    for b in result["bundles"]:
        lines.append(f"{b['life_event']:<18} {b['items']:>5} {b['upload']:>7} {b['vault']:>6} "
                     f"{b['e_certificate']:>7} {b['department']:>5}")
    t = result["total"]
    lines.append(f"{'all':<18} {sum(b['items'] for b in result['bundles']):>5} {t['upload']:>7} {t['vault']:>6} "
                 f"{t['e_certificate']:>7} {t['department']:>5}")
    lines.append(f"without an upload: {result['without_upload']}/{result['materials']} "
                 f"({result['share_without_upload']:.1%}); from the vault: {result['share_from_vault']:.1%}")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table(run()))
