"""The time and memory budget of one file's content checks: a forked child under resource limits.

The parent imports the parser once (`preload`), forks, and the child sets RLIMIT_AS (its current
address space plus the memory budget) and RLIMIT_CPU before parsing; the parent waits on a pipe
with a wall-clock deadline and SIGKILLs the child when it passes. Whatever happens to the child —
MemoryError, SIGXCPU, SIGKILL, a crash in a C decoder — the file gets a verdict, never "pending".

Limits in Lambda: fork and setrlimit are allowed (no seccomp on them), the child's memory counts
against the function's MemorySize, so the verifier needs MemorySize ≥ the parent (~150 MB with
pypdf and Pillow loaded, plus the file) + the budget; /dev/shm is absent, so multiprocessing's
queues cannot be used — a plain os.pipe is. RLIMIT_AS bounds new address space (and refuses large
mappings a decoder never touches, which only makes it stricter) but not the parent's freed heap that
stays mapped in a warm container; a watchdog thread in the child therefore also bounds resident
growth, every 5 ms (a burst between two looks is still capped by RLIMIT_AS plus that free heap).
"""

from __future__ import annotations

import ctypes
import functools
import json
import os
import resource
import select
import signal
import threading
import time
from dataclasses import dataclass

from ..collector import paused_then_frozen
from ..domain.file_checks import BUDGET_EXCEEDED, ContentLimits, Finding, inspect_content, preload

_PAGE = os.sysconf("SC_PAGE_SIZE")
_RESULT_LIMIT = 1024 * 1024


_WATCH_INTERVAL = 0.005


def _statm(field: int) -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[field]) * _PAGE


def _address_space() -> int:
    return _statm(0)


def _resident() -> int:
    return _statm(1)


def _release_free_heap() -> None:
    """Give the heap the parent freed back to the kernel (glibc), so the child's resident growth
    counts what the checks really use."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


@dataclass(frozen=True)
class Budget:
    seconds: float = 10.0
    memory_bytes: int = 512 * 1024 * 1024


@functools.cache
def preload_once(kind: str) -> None:
    """The parser a kind needs, imported once per process without collections and then frozen
    (chalicelib/collector.py): a forked child's collector then never touches those pages, so the
    child shares them with the parent instead of copying them."""
    with paused_then_frozen():
        preload(kind)


class SandboxedInspector:
    """Implements the `ContentInspector` port."""

    def __init__(self, budget: Budget | None = None) -> None:
        self.budget = budget or Budget()

    def inspect(self, kind: str, data: bytes, limits: ContentLimits) -> list[Finding]:
        preload_once(kind)
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
            _release_free_heap()
            over_memory = [Finding(BUDGET_EXCEEDED, {"resource": "memory",
                                                     "limit_bytes": self.budget.memory_bytes}).to_dict()]
            writing = threading.Lock()

            def report(result: list[dict[str, object]]) -> None:
                with writing:
                    view = memoryview(json.dumps(result).encode()[:_RESULT_LIMIT])
                    while view:
                        view = view[os.write(write_fd, view):]
                    os._exit(0)

            # RLIMIT_AS cannot see memory the parent freed but kept mapped (a warm container's heap):
            # a decoder may reuse it without a new mapping. Resident growth catches that.
            baseline = _resident()

            def watch() -> None:
                while True:
                    time.sleep(_WATCH_INTERVAL)
                    if _resident() - baseline > self.budget.memory_bytes:
                        report(over_memory)

            # The watchdog's stack is mapped before the ceiling is set, so the budget is all the checks'.
            threading.stack_size(256 * 1024)
            threading.Thread(target=watch, daemon=True).start()
            ceiling = _address_space() + self.budget.memory_bytes
            resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
            try:
                result = [f.to_dict() for f in inspect_content(kind, data, limits)]
            except MemoryError:
                result = over_memory
            except RecursionError:
                result = [Finding("verification_failed", {"error": "RecursionError"}).to_dict()]
            report(result)
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
