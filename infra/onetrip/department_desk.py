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
                 outcome: str = "approved", *, supplement: list[dict[str, Any]] | None = None,
                 result_pdf: bytes | None = None) -> None:
        self.department = department
        self.api_url = api_url
        self.token = token
        self.outcome = outcome
        # Ask the applicant for these (补正, all at once) on a task's first arrival, decide after it.
        self.supplement = supplement
        # Attach this PDF as the result document (licence, certificate) to each decision.
        self.result_pdf = result_pdf
        self.actions: list[dict[str, Any]] = []
        self._asked: set[str] = set()
        self._lock = threading.Lock()

    def _note(self, **entry: Any) -> None:
        entry.update(time=time.time(), department=self.department)
        with self._lock:
            self.actions.append(entry)

    def __call__(self, event: dict[str, Any]) -> None:
        """The receiver's `decide` callback: works on `task.assigned` and `task.supplemented`."""
        kind = event.get("type")
        if kind not in ("onetrip.task.assigned", "onetrip.task.supplemented"):
            self._note(step="event noted", event_type=kind, status=None)
            return
        task_id = event["data"]["task_id"]
        headers = {"Authorization": f"Bearer {self.token()}"}
        if event["data"].get("kind") == "rectification":
            resp = requests.post(f"{self.api_url}/v1/tasks/{task_id}/rectification", headers=headers, timeout=10,
                                 json={"note": "演示：已复盘并改进补正告知"})
            self._note(step=f"POST /v1/tasks/{task_id}/rectification", status=resp.status_code)
            resp.raise_for_status()
            return
        if self.supplement and kind == "onetrip.task.assigned" and task_id not in self._asked:
            self._asked.add(task_id)
            resp = requests.post(f"{self.api_url}/v1/tasks/{task_id}/supplement-request", headers=headers,
                                 timeout=10, json={"items": self.supplement})
            self._note(step=f"POST /v1/tasks/{task_id}/supplement-request "
                            f"{[i.get('material') or i.get('field') for i in self.supplement]}",
                       status=resp.status_code)
            resp.raise_for_status()
            return
        if kind == "onetrip.task.supplemented" and task_id not in self._asked:
            return  # another department's round resumed this task's clock; it was decided or will be
        resp = requests.get(f"{self.api_url}/v1/tasks/{task_id}", headers=headers, timeout=10)
        self._note(step=f"GET /v1/tasks/{task_id}", status=resp.status_code)
        resp.raise_for_status()
        task = resp.json()
        intact = 0
        # An e-certificate the bus holds no copy of comes as its registry facts, without a download.
        files = [m for m in task["materials"] if m.get("download_url")]
        for material in files:
            data = requests.get(material["download_url"], timeout=10).content
            intact += hashlib.sha256(data).hexdigest() == material["sha256"]
        self._note(step=f"downloaded {len(files)} materials, {intact} match their SHA-256",
                   status=200 if intact == len(files) else 409)
        body: dict[str, Any] = {"outcome": self.outcome}
        if self.result_pdf is not None:
            body["result_upload_id"] = self._upload_result(task_id, headers)
        if self.outcome == "rejected":
            body["reasons"] = [{"code": "demo_rejection", "message_zh": "演示：不予批准",
                                "message_en": "Demo: rejected"}]
        resp = requests.post(f"{self.api_url}/v1/tasks/{task_id}/decision", json=body,
                             headers=headers, timeout=10)
        self._note(step=f"POST /v1/tasks/{task_id}/decision {self.outcome}", status=resp.status_code)
        resp.raise_for_status()

    def _upload_result(self, task_id: str, headers: dict[str, str]) -> str:
        resp = requests.post(f"{self.api_url}/v1/tasks/{task_id}/result-uploads", headers=headers, timeout=10,
                             json={"content_type": "application/pdf"})
        resp.raise_for_status()
        ticket = resp.json()
        sent = requests.post(ticket["url"], data=ticket["fields"], timeout=15,
                             files={"file": ("result.pdf", self.result_pdf, "application/pdf")})
        self._note(step=f"result document uploaded for {task_id}", status=sent.status_code)
        sent.raise_for_status()
        return str(ticket["upload_id"])
