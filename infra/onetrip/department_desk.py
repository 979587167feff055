"""What a demo department does with a task it received (local only): fetch the task over the API
with its own machine token, download every material through its presigned link and check the
SHA-256 the bus recorded, then post its decision. Each step is recorded for the demo's timeline."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any

import requests


class DepartmentDesk:
    def __init__(self, department: str, api_url: str, token: Callable[[], str],
                 outcome: str = "approved") -> None:
        self.department = department
        self.api_url = api_url
        self.token = token
        self.outcome = outcome
        self.actions: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def _note(self, **entry: Any) -> None:
        entry.update(time=time.time(), department=self.department)
        with self._lock:
            self.actions.append(entry)

    def __call__(self, event: dict[str, Any]) -> None:
        """The receiver's `decide` callback, for `onetrip.task.assigned` events."""
        if event.get("type") != "onetrip.task.assigned":
            self._note(step="event noted", event_type=event.get("type"), status=None)
            return
        task_id = event["data"]["task_id"]
        headers = {"Authorization": f"Bearer {self.token()}"}
        resp = requests.get(f"{self.api_url}/v1/tasks/{task_id}", headers=headers, timeout=10)
        self._note(step=f"GET /v1/tasks/{task_id}", status=resp.status_code)
        resp.raise_for_status()
        task = resp.json()
        intact = 0
        for material in task["materials"]:
            data = requests.get(material["download_url"], timeout=10).content
            intact += hashlib.sha256(data).hexdigest() == material["sha256"]
        self._note(step=f"downloaded {len(task['materials'])} materials, {intact} match their SHA-256",
                   status=200 if intact == len(task["materials"]) else 409)
        body: dict[str, Any] = {"outcome": self.outcome}
        if self.outcome == "rejected":
            body["reasons"] = [{"code": "demo_rejection", "message_zh": "演示：不予批准",
                                "message_en": "Demo: rejected"}]
        resp = requests.post(f"{self.api_url}/v1/tasks/{task_id}/decision", json=body,
                             headers=headers, timeout=10)
        self._note(step=f"POST /v1/tasks/{task_id}/decision {self.outcome}", status=resp.status_code)
        resp.raise_for_status()
