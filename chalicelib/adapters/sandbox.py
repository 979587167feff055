"""The time and memory budget of one file's content checks: a forked child under resource limits.

The parent imports the parser once (`preload`), forks, and the child sets RLIMIT_AS (its current
address space plus the memory budget) and RLIMIT_CPU before parsing; the parent waits on a pipe
with a wall-clock deadline and SIGKILLs the child when it passes. Whatever happens to the child —
MemoryError, SIGXCPU, SIGKILL, a crash in a C decoder — the file gets a verdict, never "pending".

Limits in Lambda: fork and setrlimit are allowed (no seccomp on them), the child's memory counts
against the function's MemorySize, so the verifier needs MemorySize ≥ the parent (~150 MB with
pypdf and Pillow loaded, plus the file) + the budget; /dev/shm is absent, so multiprocessing's
queues cannot be used — a plain os.pipe is. RLIMIT_AS bounds address space, not resident memory:
it also refuses large mappings a decoder never touches, which only makes the budget stricter.
"""

from __future__ import annotations

import json
import os
import resource
import select
import signal
import time
from dataclasses import dataclass

from ..domain.file_checks import BUDGET_EXCEEDED, ContentLimits, Finding, inspect_content, preload

_PAGE = os.sysconf("SC_PAGE_SIZE")
_RESULT_LIMIT = 1024 * 1024


def _address_space() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * _PAGE


@dataclass(frozen=True)
class Budget:
    seconds: float = 10.0
    memory_bytes: int = 512 * 1024 * 1024


class SandboxedInspector:
    """Implements the `ContentInspector` port."""

    def __init__(self, budget: Budget | None = None) -> None:
        self.budget = budget or Budget()

    def inspect(self, kind: str, data: bytes, limits: ContentLimits) -> list[Finding]:
        preload(kind)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            os.close(read_fd)
            self._child(kind, data, limits, write_fd)
        os.close(write_fd)
        return self._collect(pid, read_fd)

    def _child(self, kind: str, data: bytes, limits: ContentLimits, write_fd: int) -> None:
        code = 0
        try:
            cpu = max(1, int(self.budget.seconds + 0.999))
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
            ceiling = _address_space() + self.budget.memory_bytes
            resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
            try:
                result = [f.to_dict() for f in inspect_content(kind, data, limits)]
            except MemoryError:
                result = [Finding(BUDGET_EXCEEDED, {"resource": "memory",
                                                    "limit_bytes": self.budget.memory_bytes}).to_dict()]
            except RecursionError:
                result = [Finding("verification_failed", {"error": "RecursionError"}).to_dict()]
            payload = json.dumps(result).encode()[:_RESULT_LIMIT]
            view = memoryview(payload)
            while view:
                view = view[os.write(write_fd, view):]
        except BaseException:
            code = 70
        finally:
            os._exit(code)

    def _collect(self, pid: int, read_fd: int) -> list[Finding]:
        deadline = time.monotonic() + self.budget.seconds
        chunks: list[bytes] = []
        timed_out = False
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    timed_out = True
                    break
                ready, _, _ = select.select([read_fd], [], [], left)
                if not ready:
                    continue
                chunk = os.read(read_fd, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(read_fd)
            if timed_out:
                os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
        if timed_out:
            return [Finding(BUDGET_EXCEEDED, {"resource": "time", "limit_seconds": self.budget.seconds})]
        if os.WIFSIGNALED(status):
            sig = os.WTERMSIG(status)
            if sig in (signal.SIGXCPU, signal.SIGKILL):
                return [Finding(BUDGET_EXCEEDED, {"resource": "cpu", "limit_seconds": self.budget.seconds})]
            return [Finding("verification_failed", {"signal": sig})]
        try:
            return [Finding.from_dict(raw) for raw in json.loads(b"".join(chunks))]
        except (ValueError, KeyError, TypeError):
            return [Finding("verification_failed", {"exit_status": os.WEXITSTATUS(status)})]


class InProcessInspector:
    """The same checks without a budget: for tests of the rules and for tools, never for the verifier."""

    def inspect(self, kind: str, data: bytes, limits: ContentLimits) -> list[Finding]:
        return inspect_content(kind, data, limits)
