"""The runner clock's stamps: parsed from a runner log, and judged by RunnerExit's bound."""

from __future__ import annotations

import pytest

from longhaul.scenarios.catalog import FAILS_FAST
from longhaul.scenarios.evidence import Evidence, RunnerRun
from longhaul.scenarios.expectations import RunnerExit
from longhaul.scenarios.runner_clock import WRAPPER_SLACK, RunnerClock, parse_runner_clock

T = 1_764_628_800.0


def _log(start: float, end: float, rc: int = 66, *, noise: str = "") -> str:
    return (
        f"longhaul-clock start {start:.9f}\n{noise}"
        "event=token_file_unusable path=/app/runner-token/absent cause=missing\n"
        f"longhaul-clock exit {end:.9f} {rc}\n"
    )


def test_a_start_and_exit_pair_gives_the_run_time_in_fractions_of_a_second() -> None:
    clock = parse_runner_clock(_log(T + 0.123456789, T + 0.456789012))
    assert clock is not None and clock.exit_code == 66
    assert clock.seconds == pytest.approx(0.333332223, abs=1e-6)


@pytest.mark.parametrize(
    "log",
    [
        "",
        "event=started\n",
        f"longhaul-clock start {T:.9f}\n",  # killed: no exit stamp
        f"longhaul-clock exit {T:.9f} 66\nlonghaul-clock start {T - 1:.9f}\n",  # exit before start
        f"longhaul-clock start {T + 2:.9f}\nlonghaul-clock exit {T:.9f} 66\n",  # a clock going back
        "longhaul-clock start 1764628800.N\nlonghaul-clock exit 1764628800.N 66\n",  # date without %N
        f"prefix longhaul-clock start {T:.9f}\nlonghaul-clock exit {T:.9f} 0\n",  # not at a line start
    ],
    ids=["empty", "no-stamps", "no-exit", "exit-first", "backwards", "no-nanoseconds", "mid-line"],
)
def test_no_figure_without_a_trustworthy_pair(log: str) -> None:
    assert parse_runner_clock(log) is None


def test_the_cpu_time_after_the_exit_stamp_is_read_as_a_diagnosis() -> None:
    log = _log(T, T + 2.5) + "0m0.001000s 0m0.002000s\n0m0.150000s 0m0.030000s\n"
    clock = parse_runner_clock(log)
    assert clock is not None and clock.cpu_seconds == pytest.approx(0.18)
    assert parse_runner_clock(_log(T, T + 2.5)) == RunnerClock(T, T + 2.5, 66, None)
    bash = _log(T, T + 1) + "0m0.001s 0m0.002s\n1m0.500s 0m0.250s\n"  # bash prints milliseconds
    assert parse_runner_clock(bash) == RunnerClock(T, T + 1, 66, 60.75)


def test_a_comma_decimal_separator_reads_as_a_point() -> None:
    log = "longhaul-clock start 1764628800,250000\nlonghaul-clock exit 1764628800,750000 66\n"
    assert parse_runner_clock(log) == RunnerClock(T + 0.25, T + 0.75, 66)


def test_the_last_pair_counts_and_log_lines_between_do_not_matter() -> None:
    log = _log(T, T + 5) + _log(T + 10, T + 10.25, noise="line\r\nanother line\n")
    assert parse_runner_clock(log) == RunnerClock(T + 10, T + 10.25, 66)


def _judged(log: str, container_seconds: float) -> list[str]:
    ev = Evidence("x", "ns", "s", started=T)
    ev.runs = [RunnerRun("p", "Failed", 66, T, T + container_seconds, log)]
    return RunnerExit(66, within=1.0).problems(ev)


def test_the_bound_is_judged_on_the_clock_not_on_container_seconds() -> None:
    # Container timestamps say 2 s (1 s resolution, start truncated); the clock says 0.4 s: in time.
    assert _judged(_log(T + 0.9, T + 1.3), container_seconds=2.0) == []
    slow = _judged(_log(T, T + 1.0 + WRAPPER_SLACK + 0.05), container_seconds=1.0)
    assert slow and "1.150s to exit (runner clock)" in slow[0], slow
    starved = _judged(_log(T, T + 2) + "0m0s 0m0s\n0m0.100000s 0m0.020000s\n", container_seconds=2.0)
    assert "2.000s to exit on 0.120s of CPU (runner clock)" in starved[0], starved


def test_without_stamps_the_container_timestamps_judge() -> None:
    assert _judged("no clock here\n", container_seconds=1.0) == []
    assert "container timestamps" in _judged("no clock here\n", container_seconds=2.0)[0]


def test_a_runner_that_never_exited_says_so() -> None:
    ev = Evidence("x", "ns", "s", started=T)
    ev.runs = [RunnerRun("p", "Running", None, T, None, "longhaul-clock start 1764628800.1\n")]
    assert (
        RunnerExit(66, within=1.0).problems(ev)[-1]
        == "runner p never exited while observed, contract says within 1s"
    )


def test_the_fail_fast_scenarios_are_bound_to_one_second_and_clocked() -> None:
    for scenario in FAILS_FAST:
        bounds = [e.within for e in scenario.expect if isinstance(e, RunnerExit)]
        assert bounds == [1.0], scenario.name
        assert scenario.wants_runner_clock
