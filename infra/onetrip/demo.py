"""`make demo`: one application travels the whole path on the local stack, as real HTTP clients.

A mobile client (the verified citizen) reads the guide, drafts a joint application (联办), uploads
its materials straight to S3 (one of them wrong first, to show the verdict), submits, and follows
the case; two department receivers get signed webhooks (one of them down for its first two
attempts), verify them, and decide through the API. Then once-only: the real-estate department
registers the title certificate as an e-certificate, and the citizen's next application obtains it
from the registry with consent instead of an upload; the access log shows who read the data.
Prints a timeline; exits 0 only if every step succeeded. Everything it starts listens on 127.0.0.1
and is stopped on exit.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable
from typing import Any

import requests

from chalicelib.domain.webhooks import generate_secret
from infra.onetrip import samples
from infra.onetrip.department_desk import DepartmentDesk
from infra.onetrip.moto_stack import free_port
from infra.onetrip.receiver import DemoReceiver
from infra.onetrip.seed import REFERENCE_REGISTRY
from infra.onetrip.stack import LocalStack

ITEM = "YQ-RE-0010"
ANSWERS = {"marital_status": "single", "buyer_first_home": True}  # single seller: no marriage certificate
CITIZEN = "citizen-verified"
# Real files: the verifier parses what arrives (built by infra/onetrip/samples.py).
PDF = samples.pdf()
PNG = samples.png()
UPLOADS = [  # (material, bytes, declared type) — the first one is a PNG posing as a PDF
    ("sale-contract", PNG, "application/pdf"),
    ("sale-contract", PDF, "application/pdf"),
    ("property-certificate", PNG, "image/png"),
    ("tax-declaration", PDF, "application/pdf"),
]
WAIT_SECONDS = 45
# The once-only step at the end: the next item of the life event (a mortgage on the home) needs the
# title certificate, which the bus obtains from the e-certificate registry instead of an upload.
SECOND_ITEM = "YQ-RE-0020"
CERTIFICATE_TYPE = "不动产权证书"
CERTIFICATE_SHA256 = hashlib.sha256(samples.pdf("title certificate")).hexdigest()


class Timeline:
    def __init__(self) -> None:
        self.start = time.time()
        self.rows: list[tuple[float, str, str, str, bool]] = []

    def add(self, actor: str, what: str, result: str, ok: bool, at: float | None = None) -> None:
        self.rows.append(((at or time.time()) - self.start, actor, what, result, ok))
        if at is None:
            print(f"  {'✓' if ok else '✗'} {actor:<14} {what} → {result}", flush=True)

    @property
    def ok(self) -> bool:
        return all(row[4] for row in self.rows)

    def print(self) -> None:
        print("\nTimeline (seconds since start)")
        print(f"{'t':>7}  {'':1} {'actor':<14} {'step':<64} result")
        for t, actor, what, result, ok in sorted(self.rows, key=lambda r: r[0]):
            print(f"{t:7.2f}  {'✓' if ok else '✗'} {actor:<14} {what:<64} {result}")


def wait_for(predicate: Callable[[], Any], timeout: float, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return None


def run() -> int:
    timeline = Timeline()
    receivers = {
        "yq-realestate": DemoReceiver("yq-realestate", [generate_secret()]),
        "yq-tax": DemoReceiver("yq-tax", [generate_secret()], fail_first=2),  # down for two attempts
    }
    for receiver in receivers.values():
        receiver.start()
    print("Starting the local stack (moto, the stateful template, chalice local, the event pump)…", flush=True)
    try:
        with LocalStack.start(moto_port=free_port(), api_port=free_port(),
                              seed_kwargs={"receiver_urls": {d: r.url for d, r in receivers.items()}}) as stack:
            print(f"  API {stack.api_url}   moto {stack.moto_url}", flush=True)
            desks = {}
            for department, receiver in receivers.items():
                receiver.secrets = [stack.seeded["departments"][department]["secret"]]
                desks[department] = DepartmentDesk(department, stack.api_url,
                                                   lambda d=department: stack.token(f"dept-{d}"))
                receiver.decide = desks[department]
            journey(stack, timeline, receivers, desks)
    except Exception as exc:  # the timeline says what failed; the exit code says it failed
        timeline.add("demo", "aborted", f"{type(exc).__name__}: {exc}", False)
    finally:
        for receiver in receivers.values():
            receiver.stop()
    timeline.print()
    print(f"\n{'DEMO PASSED' if timeline.ok else 'DEMO FAILED'}: {len(timeline.rows)} steps, "
          f"{sum(1 for r in timeline.rows if not r[4])} failed")
    return 0 if timeline.ok else 1


def journey(stack: LocalStack, timeline: Timeline, receivers: dict[str, DemoReceiver],
            desks: dict[str, DepartmentDesk]) -> None:
    api = stack.api_url
    session = requests.Session()
    token = stack.token(CITIZEN)
    timeline.add("citizen", f"access token for {CITIZEN} (moto Cognito, RS256)", f"{len(token)} chars", True)
    session.headers["Authorization"] = f"Bearer {token}"

    def step(method: str, path: str, expect: int, **kwargs: Any) -> dict[str, Any]:
        resp = session.request(method, f"{api}{path}", timeout=15, **kwargs)
        body = resp.json() if resp.content else {}
        state = body.get("status") or body.get("code") or ""
        timeline.add("citizen", f"{method} {path}", f"HTTP {resp.status_code} {state}".strip(),
                     resp.status_code == expect)
        if resp.status_code != expect:
            raise RuntimeError(f"{method} {path}: expected {expect}, got {resp.status_code}: {body}")
        return body

    guide = step("GET", f"/v1/items/{ITEM}", 200)
    timeline.add("citizen", f"guide: {guide['name_zh']}", f"{len(guide['materials'])} materials, "
                 f"departments {', '.join(guide['departments'])}, {guide['committed_days']} working days", True)
    draft = step("POST", "/v1/applications", 201, json={"item_code": ITEM})
    app_id = draft["id"]

    early = step("POST", f"/v1/applications/{app_id}/submit", 422)
    timeline.add("citizen", "one-time notification (一次性告知)",
                 ", ".join(f"{p['code']}:{p.get('target')}" for p in early["problems"]), True)
    answered = step("PUT", f"/v1/applications/{app_id}/answers", 200, json={"answers": ANSWERS})
    timeline.add("citizen", "form answered: the materials needed follow the answers",
                 ", ".join(m["code"] for m in answered["materials"] if m["required"]), True)

    for material, data, ctype in UPLOADS:
        ticket = step("POST", f"/v1/applications/{app_id}/materials/{material}/uploads", 201,
                      json={"content_type": ctype, "file_name": f"{material}.{ctype.rsplit('/', 1)[1]}"})
        resp = requests.post(ticket["url"], data=ticket["fields"], files={"file": ("f", data, ctype)}, timeout=15)
        timeline.add("citizen", f"S3 presigned POST {material} ({len(data)} B)", f"HTTP {resp.status_code}",
                     resp.status_code in (200, 204))

        def verdict(material: str = material, upload_id: str = ticket["upload_id"]) -> dict[str, Any] | None:
            app = session.get(f"{api}/v1/applications/{app_id}", timeout=10).json()
            slot = next(m for m in app["materials"] if m["code"] == material)
            return slot if slot["upload_id"] == upload_id and slot["status"] in ("verified", "rejected") else None

        slot = wait_for(verdict, WAIT_SECONDS)
        if slot is None:
            timeline.add("verifier", f"verdict on {material}", "no verdict in time", False)
            raise RuntimeError("verification did not finish")
        reasons = ",".join(p["code"] for p in slot["problems"])
        expected = "rejected" if data is PNG and ctype == "application/pdf" else "verified"
        timeline.add("verifier", f"verify_material {material} (S3 → SQS → handler)",
                     f"{slot['status']} {reasons} sha256={(slot['sha256'] or '')[:12]}…", slot["status"] == expected)

    case = step("POST", f"/v1/applications/{app_id}/submit", 200)
    timeline.add("bus", f"case {case['case']['case_number']} accepted (受理)",
                 f"deadline {case['case']['deadline']}, applicant {case['case']['applicant']['name_masked']} "
                 f"{case['case']['applicant']['id_number_masked']} {case['case']['applicant']['assurance_level']}",
                 True)

    decided = wait_for(lambda: (a := session.get(f"{api}/v1/applications/{app_id}", timeout=10).json())
                       ["status"] == "decided" and a, WAIT_SECONDS)
    # Every department also hears that the case is decided (onetrip.case.decided).
    wait_for(lambda: all(any(h["event_type"] == "onetrip.case.decided" for h in r.received)
                         for r in receivers.values()), WAIT_SECONDS)
    for receiver in receivers.values():
        receiver.wait_idle(5)
        for hit in receiver.received:
            timeline.add(f"dept {receiver.department}",
                         f"webhook {hit['event_type'] or '(simulated outage)'} id={hit['webhook_id']}",
                         f"answered {hit['status']}, signature {'verified' if hit['signature_ok'] else 'not checked'}"
                         + (" (duplicate ignored)" if hit["duplicate"] else ""),
                         hit["status"] in (204, 200, 503), at=hit["time"])
        ids = {h["webhook_id"] for h in receiver.received if h["event_type"] == "onetrip.task.assigned"}
        acted = [a for a in desks[receiver.department].actions if "decision" in a["step"]]
        timeline.add(f"dept {receiver.department}", "task webhooks: one webhook-id, acted on once",
                     f"{len(ids)} id(s), {len(acted)} decision(s)", len(ids) == 1 and len(acted) == 1)
        for action in desks[receiver.department].actions:
            timeline.add(f"dept {receiver.department}", action["step"], f"HTTP {action['status']}",
                         action["status"] in (None, 200), at=action["time"])
        for error in receiver.decide_errors:
            timeline.add(f"dept {receiver.department}", "decide", error, False)
    if not decided:
        timeline.add("citizen", "wait for the decision", "not decided in time", False)
        return
    final = step("GET", f"/v1/applications/{app_id}", 200)
    timeline.add("citizen", "case outcome", f"{final['status']} / {final['outcome']} — "
                 + ", ".join(f"{t['department']}:{t['outcome']}" for t in final["tasks"]),
                 final["outcome"] == "approved")
    obtained_without_upload(stack, timeline, step, final)


def obtained_without_upload(stack: LocalStack, timeline: Timeline, step: Callable[..., dict[str, Any]],
                            first: dict[str, Any]) -> None:
    """Once-only (数据跑路): the real-estate department registers the title certificate it issued as an
    e-certificate (电子证照); the citizen's next application (a mortgage on the home) is offered it, and
    with consent the material is obtained from the registry — no upload. Who read the data is in the
    citizen's access log."""
    registrar = stack.token("dept-yq-realestate")
    number = f"浙(2026)乐清市不动产权第{first['case']['case_number'][-8:]}号"
    body = {"type": CERTIFICATE_TYPE, "number": number, "document_sha256": CERTIFICATE_SHA256,
            "holder_id_number": REFERENCE_REGISTRY[CITIZEN]["id_number"]}
    resp = requests.post(f"{stack.api_url}/v1/certificates", json=body, timeout=15,
                         headers={"Authorization": f"Bearer {registrar}"})
    cert = resp.json()
    timeline.add("dept yq-realestate", f"POST /v1/certificates {CERTIFICATE_TYPE} (电子证照)",
                 f"HTTP {resp.status_code} {cert.get('id') or cert.get('code')} {cert.get('number_masked', '')}",
                 resp.status_code == 201)
    if resp.status_code != 201:
        raise RuntimeError(f"certificate registration failed: {cert}")
    draft = step("POST", "/v1/applications", 201, json={"item_code": SECOND_ITEM})
    offers = step("GET", f"/v1/applications/{draft['id']}/offers", 200)["offers"]
    offer = next((o for o in offers if o.get("certificate_id") == cert["id"]), None)
    timeline.add("citizen", f"{SECOND_ITEM}: offers instead of uploads",
                 f"{offer['material']} ← {offer['type']} from {offer['issuer']}, preview "
                 f"{'link' if offer['preview_url'] else 'registry facts'}" if offer else "no offer", offer is not None)
    if offer is None:
        raise RuntimeError("the e-certificate was not offered")
    used = step("POST", f"/v1/applications/{draft['id']}/materials/{offer['material']}/reuse", 200,
                json={"source": "e_certificate", "certificate_id": cert["id"], "consent": True})
    slot = next(m for m in used["application"]["materials"] if m["code"] == offer["material"])
    timeline.add("bus", f"{offer['material']} obtained from the e-certificate registry, no upload",
                 f"{slot['status']}, certificate {slot['certificate_id']}, consent receipt "
                 f"{used['consent_receipt']['id']}",
                 slot["status"] == "verified" and slot["certificate_id"] == cert["id"] and slot["upload_id"] is None)
    log = step("GET", "/v1/me/access-log?limit=50", 200)["items"]
    readers = sorted({r["actor"].get("binding", "") for r in log
                      if r["action"] == "department_read" and r["application_id"] == first["id"]})
    used_here = [r for r in log if r["action"] == "certificate_use" and r["application_id"] == draft["id"]]
    timeline.add("citizen", "GET /v1/me/access-log: who used my data",
                 f"{first['case']['case_number']} read by {', '.join(readers) or 'nobody'}; "
                 f"{len(used_here)} consent receipt(s) for {SECOND_ITEM}",
                 readers == sorted(t["department"] for t in first["tasks"]) and len(used_here) == 1)


def main() -> int:
    return run()


if __name__ == "__main__":
    sys.exit(main())
