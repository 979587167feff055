"""SignalsAsInterrupt on its own, with SIGUSR1 standing in for SIGTERM (a handler that failed to install
must not end the test run), and the command line recorded for a fresh child; the subprocess behaviour
is in test_stack_signals.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from infra.onetrip.lifetime import SignalsAsInterrupt
from infra.onetrip.stack import _settled_cmdline

SIG = signal.SIGUSR1


@pytest.fixture
def seen() -> Iterator[list[int]]:
    """A harmless handler for SIG during the test; the one before it is put back after."""
    calls: list[int] = []
    previous = signal.signal(SIG, lambda signum, _frame: calls.append(signum))
    try:
        yield calls
    finally:
        signal.signal(SIG, previous)


def _send() -> None:
    os.kill(os.getpid(), SIG)  # the Python handler runs in this (main) thread before the call returns


def test_the_first_signal_raises_keyboard_interrupt_and_later_ones_are_ignored(seen):
    signals = SignalsAsInterrupt((SIG,))
    assert signals.install(only_over_default=False)
    try:
        with pytest.raises(KeyboardInterrupt, match="SIGUSR1"):
            _send()
        assert signals.received == SIG
        _send()  # the shutdown it started is running: no second interrupt
    finally:
        signals.restore()
    _send()
    assert seen == [SIG]  # the previous handler is back


def test_a_signal_inside_deferred_is_held_until_the_block_ends(seen):
    signals = SignalsAsInterrupt((SIG,))
    signals.install(only_over_default=False)
    finished = False
    try:
        with pytest.raises(KeyboardInterrupt):
            with signals.deferred():
                _send()
                finished = True  # the block ran to its end
    finally:
        signals.restore()
    assert finished and signals.received == SIG


def test_install_over_default_only_leaves_a_handled_signal_alone(seen):
    signals = SignalsAsInterrupt((SIG,))
    assert not signals.install(only_over_default=True)
    _send()
    assert seen == [SIG] and signals.received is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="command lines are read from /proc")
def test_the_command_line_recorded_right_after_a_spawn_is_the_programs_own():
    """Read at once, /proc shows an empty command line for a moment after Popen returns (seen in about
    1 of 6 reads); recorded so, `onetrip down` would later take the pid for another program's."""
    command = [sys.executable, "-c", "import time; time.sleep(30)"]
    for _ in range(60):
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL)
        try:
            assert _settled_cmdline(proc.pid) == command
        finally:
            proc.kill()
            proc.wait(5)
