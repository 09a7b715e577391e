"""The runner clock: wall-clock stamps a harness wrapper writes around the runner, and their parsing.

Why: the contract says a runner with an unusable ``BOT_TOKEN_PATH`` exits
within 1 s of starting, but a container's ``startedAt``/``finishedAt`` have 1 s
resolution, so they cannot tell 0.2 s from 1.9 s.  For scenarios with such a
bound the harness wraps the runner command (``fixtures/engine/launch.py``) in a
POSIX shell that prints, right before starting the runner and right after it
exits::

    longhaul-clock start 1764628800.123456
    longhaul-clock exit 1764628800.456789 66

(bash's ``$EPOCHREALTIME``, read without starting a process, or ``date +%s.%N``
where there is no bash; the exit line also carries the runner's exit code), then the
shell's ``times`` (its own and its children's user and system CPU time).  The
figure judged is wall time: the runner's own run time plus the wrapper's (the
shell's fork of the runner and its wait; with ``date``, one process start
more), :data:`WRAPPER_SLACK` at most.  The CPU time is a diagnosis, never
judged: a run that took 2 s of wall time on 0.2 s of CPU was starved by its
node, not slow by itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CLOCK_MARK = "longhaul-clock"
# What the wrapper itself may add to a measured run: one `date` start and one fork+exec by the shell.
# Measured on this 2-core machine under load (tests/component/harness/test_runner_clock.py prints it):
# a few milliseconds typically, tens at worst; 0.1 s leaves room without hiding a slow runner.
WRAPPER_SLACK = 0.1

# bash's $EPOCHREALTIME uses the locale's decimal separator: a comma is read as the point.
_START = re.compile(rf"^{CLOCK_MARK} start (\d+[.,]\d+)\s*$", re.M)
_EXIT = re.compile(rf"^{CLOCK_MARK} exit (\d+[.,]\d+) (\d+)[ \t]*\r?\n?", re.M)
# `times`: the shell's own user/system time, then its children's, as "XmY.YYYs XmY.YYYs" lines.
_TIMES = re.compile(r"\S+ \S+\r?\n(\d+)m(\d+(?:\.\d+)?)s (\d+)m(\d+(?:\.\d+)?)s")


@dataclass(frozen=True)
class RunnerClock:
    """When the wrapped runner started and exited (epoch seconds, ns resolution), and its exit code."""

    started: float
    exited: float
    exit_code: int
    cpu_seconds: float | None = None  # user + system CPU of the runner (and the two `date`s), if known

    @property
    def seconds(self) -> float:
        return self.exited - self.started


def _seconds(stamp: str) -> float:
    return float(stamp.replace(",", "."))


def parse_runner_clock(log: str) -> RunnerClock | None:
    """The last start/exit pair in ``log``, or None without one (not wrapped, killed, no GNU date).

    A start without an exit (the runner was killed, the log cut) is no figure;
    an exit stamp before its start is a clock that cannot be trusted.
    """
    starts, exits = list(_START.finditer(log)), list(_EXIT.finditer(log))
    if not starts or not exits:
        return None
    start, end = starts[-1], exits[-1]
    if end.start() < start.start():
        return None
    times = _TIMES.match(log, end.end())
    cpu = None
    if times:
        cpu = round(int(times[1]) * 60 + float(times[2]) + int(times[3]) * 60 + float(times[4]), 6)
    clock = RunnerClock(_seconds(start[1]), _seconds(end[1]), int(end[2]), cpu)
    return clock if clock.seconds >= 0 else None
