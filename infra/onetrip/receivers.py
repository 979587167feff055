"""`python -m infra.onetrip.receivers`: the demo departments of `onetrip up` (local only).

One DemoReceiver per seeded department on its fixed loopback port, each with the endpoint's signing
secret; a received task is fetched and approved through the API with the department's own token.
Configuration arrives as JSON in ONETRIP_RECEIVERS (written by LocalStack, never a deployed stage).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading

from infra.onetrip import users as demo_users
from infra.onetrip.department_desk import DepartmentDesk
from infra.onetrip.receiver import DemoReceiver

CONFIG_ENV = "ONETRIP_RECEIVERS"


def main() -> int:
    config = json.loads(os.environ[CONFIG_ENV])
    outputs = config["outputs"]
    receivers = []
    for department, spec in config["departments"].items():
        desk = DepartmentDesk(department, config["api_url"],
                              lambda d=department: demo_users.token(outputs, f"dept-{d}"))
        receivers.append(DemoReceiver(department, [spec["secret"]], decide=desk, port=spec["port"]).start())
        print(f"receiver {department} on {receivers[-1].url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    seen = 0
    while not stop.wait(0.5):
        hits = sorted((h for r in receivers for h in r.received), key=lambda h: h["time"])
        for hit in hits[seen:]:
            print(f"{hit['department']}: {hit['event_type']} webhook-id={hit['webhook_id']} "
                  f"answered {hit['status']} signature_ok={hit['signature_ok']}", flush=True)
        seen = len(hits)
    for receiver in receivers:
        receiver.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
