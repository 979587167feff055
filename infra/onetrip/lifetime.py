"""How the local stack's child processes end with the process that started them (local only).

Three mechanisms, each for a case the others miss:

* Own process group (a new session): Ctrl-C in a terminal reaches only the parent, which then
  stops its children in order (pump before API before moto), and a child is stopped with whatever it
  may have started itself (`stop_process` signals the whole group).
* `SignalsAsInterrupt`: SIGTERM (an outer `timeout`, `kill`, `onetrip down` stopping a foreground
  stack) raises KeyboardInterrupt in the main thread, so it runs the same orderly shutdown as
  Ctrl-C: `with LocalStack...` blocks exit, pytest tears its session fixtures down. Without it the
  default action ends the parent at once and no `finally` runs. An interrupt Python drops (raised
  inside an at-fork callback or a `__del__`) is raised again at the next `checkpoint()`, and none is
  raised inside a spawn (`held()`), where it would lose a running child.
* `PR_SET_PDEATHSIG` (Linux): the kernel sends the child SIGTERM when its parent dies, for the case
  no handler can see, SIGKILL (an OOM kill, `kill -9`, a CI runner cancelling the job). Not for a
  detached stack, whose children must outlive `onetrip up --detach`. On other systems this part is
  skipped; there the other two still apply.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from types import FrameType
from typing import Any

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

__all__ = ["SignalsAsInterrupt", "checkpoint", "held", "spawn", "stop_process", "stop_recorded_pid"]


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """libc's prctl, looked up once in the parent (never between fork and exec)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl  # type: ignore[no-any-return]
    except (OSError, AttributeError):
        return None


def _die_with_parent(signum: int = signal.SIGTERM) -> Callable[[], None] | None:
    """A preexec_fn asking the kernel to send `signum` to the child when this process dies.

    The kernel ties the setting to the *thread* that forked: a child spawned from a worker thread
    would get the signal when that thread ends, while the process lives on. So only children of the
    main thread get it (the main thread lives as long as the process). The child first asks, then
    checks that its parent is still the one that forked it: a parent dying in between would never
    signal it.
    """
    prctl = _prctl()
    if prctl is None or threading.current_thread() is not threading.main_thread():
        return None
    parent = os.getpid()

    def preexec() -> None:  # runs in the child between fork and exec: nothing but two system calls
        prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return preexec


def spawn(command: Sequence[str], *, outlive_parent: bool = False, **popen_kwargs: Any) -> subprocess.Popen:
    """Popen in a new session (its own process group); unless `outlive_parent`, the child gets SIGTERM
    when this process dies, however it dies (Linux)."""
    return subprocess.Popen(list(command), start_new_session=True,
                            preexec_fn=None if outlive_parent else _die_with_parent(), **popen_kwargs)


def _leads_own_session(pid: int) -> bool:
    """True for a process started in a new session: its process group holds only what it started. A
    process started from a shell (a foreground `onetrip up`) shares its job's group with the rest of a
    pipeline, so it is signalled alone."""
    try:
        return os.getsid(pid) == pid
    except OSError:
        return False


def _signal(pid: int, signum: int, group: bool) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(pid, signum)
        else:
            os.kill(pid, signum)


def stop_process(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds; to the child's whole group when it leads one (the
    group is signalled while its leader is still unreaped, so its id cannot belong to anyone else)."""
    if proc.poll() is not None:
        return
    group = _leads_own_session(proc.pid)
    _signal(proc.pid, signal.SIGTERM, group)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        _signal(proc.pid, signal.SIGKILL, group)
        proc.wait(grace)


def stop_recorded_pid(pid: int, alive: Callable[[int], bool], grace: float = 5.0) -> str:
    """`stop_process` for a pid that is not our child (`onetrip down`): SIGTERM, then SIGKILL."""
    group = _leads_own_session(pid)
    _signal(pid, signal.SIGTERM, group)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not alive(pid):
            return "stopped"
        time.sleep(0.1)
    _signal(pid, signal.SIGKILL, group)
    return "killed"


class _Shared:
    """What every installed `SignalsAsInterrupt` shares: a process has one main thread and one shutdown."""

    held = 0  # depth of `held()` blocks; a signal arriving inside waits for the outermost one to end
    pending: int | None = None  # such a signal
    # Raised, but no stop has begun yet. Python drops an exception raised where nobody can catch it:
    # in an at-fork callback (logging registers one, so inside every Popen), a __del__, a weakref or
    # gc callback; it prints "Exception ignored in ..." and goes on. `checkpoint()` raises it again.
    unacted: int | None = None

    @classmethod
    def clear(cls) -> None:
        cls.pending = cls.unacted = None


def _interrupt(signum: int) -> KeyboardInterrupt:
    _Shared.unacted = signum
    return KeyboardInterrupt(f"stopped by {signal.Signals(signum).name}")


def checkpoint() -> None:
    """Raise KeyboardInterrupt again for a signal whose first one was lost, until a stop begins. Called
    where a starter polls (`wait_until`) or waits (the foreground loop of `onetrip up`)."""
    if _Shared.unacted is not None and not _Shared.held:
        raise _interrupt(_Shared.unacted)


@contextlib.contextmanager
def held() -> Iterator[None]:
    """A signal arriving inside is raised when the outermost block ends, not in the middle: around a
    spawn, so that the child is recorded before the interrupt can unwind past it (a KeyboardInterrupt
    inside Popen loses the Popen of a child that runs), and around a stop, so it is not cut in half."""
    _Shared.held += 1
    try:
        yield
    finally:
        _Shared.held -= 1
        if not _Shared.held and _Shared.pending is not None:
            signum, _Shared.pending = _Shared.pending, None
            raise _interrupt(signum)
    checkpoint()


class SignalsAsInterrupt:
    """While installed (main thread only), the given signals raise KeyboardInterrupt, as Ctrl-C does;
    once the stop has begun (`stopping()`), later ones are ignored so that it can finish. Inside
    `held()` or `stopping()` a signal is held until the block ends."""

    def __init__(self, signals: Sequence[int] = (signal.SIGTERM,)) -> None:
        self.signals = tuple(signals)
        self.received: int | None = None
        self._previous: dict[int, Any] = {}

    def install(self, *, only_over_default: bool = True) -> bool:
        """Install; with `only_over_default`, leave alone a signal someone else already handles.
        Returns whether anything was installed."""
        if threading.current_thread() is not threading.main_thread():
            return False
        for signum in self.signals:
            if only_over_default and signal.getsignal(signum) is not signal.SIG_DFL:
                continue
            self._previous[signum] = signal.signal(signum, self._handle)
        return bool(self._previous)

    def restore(self) -> None:
        """Put the previous handlers back; an interrupt they raised is over with them."""
        if threading.current_thread() is not threading.main_thread() or not self._previous:
            return
        for signum, previous in self._previous.items():
            if signal.getsignal(signum) == self._handle:
                signal.signal(signum, previous)
        self._previous.clear()
        _Shared.clear()

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.received is not None and (_Shared.held or _Shared.unacted is None):
            return  # the stop it asked for is under way (or will be, when the held block ends)
        # A first signal, or a later one while the first is still unacted (Python may have dropped
        # its interrupt, and no checkpoint may come: pytest running tests beside a LocalStack).
        self.received = self.received or signum
        if _Shared.held:
            _Shared.pending = signum
            return
        raise _interrupt(signum)

    @contextlib.contextmanager
    def stopping(self) -> Iterator[None]:
        """The orderly stop: it acts on the interrupt (no checkpoint raises it again), and a signal
        arriving meanwhile is held until the stop is done."""
        _Shared.unacted = None
        with held():
            yield
