"""A synthetic catalogue the size of a city's (seed S1: 1,207 items) for scale tests and benchmarks.

Deterministic: item n is always the same. Each item is built from the sample's shapes — a typed
form, required, conditional and bus-obtained materials, legal basis, provincial base code, some
joint items and sub-items — so the linter, the checklist and the search do real work on it. It
lints clean against the sample departments and the provincial codes it generates alongside.
"""

from __future__ import annotations

import random
from pathlib import Path

from chalicelib.domain.catalogue import ServiceItem
from chalicelib.domain.reconciliation import ProvincialItem

_DEPARTMENTS = ("yq-amr", "yq-tax", "yq-realestate", "yq-housing", "yq-drc", "yq-nr", "yq-psb", "yq-exit-entry",
                "yq-traffic", "yq-hrss", "yq-civil", "yq-funeral", "yq-health")
_SUBJECTS = ("食品经营", "药品零售", "道路运输", "建设工程", "排污", "户口", "社会保险", "住房公积金", "医疗保险",
             "殡葬", "婚姻", "出入境", "驾驶证", "机动车", "不动产", "营业执照", "税务", "林木采伐", "取水",
             "城市道路占用", "户外广告", "特种设备", "消防", "教师资格", "民办学校", "养老机构", "残疾人证")
_ACTIONS = (("设立登记", "registration"), ("变更登记", "change registration"), ("注销登记", "deregistration"),
            ("许可", "licence"), ("延续", "renewal"), ("补领", "replacement"), ("证明开具", "certificate"),
            ("备案", "filing"), ("查询", "query"), ("年度报告", "annual report"))
_KINDS = ("行政许可", "行政确认", "公共服务", "行政给付", "其他行政权力")


def generate(count: int = 1207, seed: int = 1207) -> tuple[list[ServiceItem], list[ProvincialItem]]:
    rng = random.Random(seed)
    items: list[ServiceItem] = []
    provincial: list[ProvincialItem] = []
    for n in range(count):
        subject = _SUBJECTS[n % len(_SUBJECTS)]
        action_zh, action_en = _ACTIONS[(n // len(_SUBJECTS)) % len(_ACTIONS)]
        base_code = f"330000-GEN-{n // 3:05d}"  # about three local items per provincial item
        if n % 3 == 0:
            provincial.append(ProvincialItem(base_code=base_code, name_zh=f"{subject}{action_zh}"))
        lead = _DEPARTMENTS[n % len(_DEPARTMENTS)]
        joint = [_DEPARTMENTS[(n + 3) % len(_DEPARTMENTS)]] if n % 7 == 0 else []
        statutory = rng.choice((5, 10, 15, 20, 30))
        code = f"GEN-{n:05d}"
        main = f"GEN-{n - n % 5:05d}" if n % 5 else None
        doc = {
            "code": code, "base_code": base_code, "name_zh": f"{subject}{action_zh}（第{n % 97 + 1}类）",
            "name_en": f"{subject} {action_en} (class {n % 97 + 1})", "aliases": [f"{subject}{action_zh[:2]}",
                                                                                f"{action_zh}{n}"],
            "main_item": main, "kind": _KINDS[n % len(_KINDS)], "lead_department": lead,
            "joint_departments": joint, "channels": ["online", "window"] if n % 4 else ["online", "terminal"],
            "statutory_days": statutory, "committed_days": max(1, statutory // rng.choice((2, 3, 5))),
            "max_visits": n % 2, "legal_basis": [{"title_zh": f"{subject}管理条例", "article": f"第{n % 60 + 1}条"}],
            "form": [
                {"name": "applicant_type", "label_zh": "申请人类型", "label_en": "Applicant type", "type": "enum",
                 "choices": [{"value": "person", "label_zh": "自然人", "label_en": "Person"},
                             {"value": "company", "label_zh": "企业", "label_en": "Company"}]},
                {"name": "age", "label_zh": "年龄", "label_en": "Age", "type": "integer", "minimum": 0, "maximum": 130},
                {"name": "agent", "label_zh": "委托代理人办理", "label_en": "Handled by an agent", "type": "boolean"},
            ],
            "materials": [
                {"code": "application-form", "name_zh": f"{subject}{action_zh}申请表",
                 "name_en": f"{subject} {action_en} form", "accepted_types": ["pdf"], "max_size_bytes": 5242880},
                {"code": "applicant-id", "name_zh": "申请人居民身份证", "name_en": "Applicant's resident ID card",
                 "obtainable_from": {"e_certificate": "居民身份证"}, "accepted_types": ["jpg", "png"],
                 "max_size_bytes": 2097152},
                {"code": "business-licence", "name_zh": "营业执照", "name_en": "Business licence", "required": False,
                 "condition": 'applicant_type == "company"', "obtainable_from": {"e_certificate": "营业执照"},
                 "accepted_types": ["pdf"], "max_size_bytes": 5242880},
                {"code": "power-of-attorney", "name_zh": "授权委托书", "name_en": "Power of attorney",
                 "required": False, "condition": "agent", "accepted_types": ["pdf"], "max_size_bytes": 2097152},
                {"code": "guardian-consent", "name_zh": "监护人同意书", "name_en": "Guardian's consent",
                 "required": False, "condition": 'age < 18 and applicant_type == "person"',
                 "accepted_types": ["pdf", "jpg"], "max_size_bytes": 2097152},
                *({"code": f"supporting-{k}", "name_zh": f"{subject}专项材料{k}", "name_en": f"Specific document {k}",
                   "accepted_types": ["pdf", "ofd"], "max_size_bytes": 10485760} for k in range(n % 4)),
            ],
        }
        items.append(ServiceItem.model_validate(doc))
    return items, provincial


def write_catalogue(out: Path, count: int = 1207, per_file: int = 100) -> list[Path]:
    """Bundles of `per_file` items plus `provincial.yaml` (what `catalogue lint --provincial` reads)."""
    import yaml

    from infra.onetrip.catalogue_files import bundle_yaml

    items, provincial = generate(count)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for start in range(0, len(items), per_file):
        path = out / f"bundle-{start // per_file:03d}.yaml"
        path.write_text(bundle_yaml(items[start:start + per_file]), encoding="utf-8")
        written.append(path)
    prov = out.parent / f"{out.name}-provincial.yaml"
    prov.write_text(yaml.safe_dump({"items": [p.model_dump(exclude_defaults=True) for p in provincial]},
                                   allow_unicode=True, sort_keys=False), encoding="utf-8")
    return written
