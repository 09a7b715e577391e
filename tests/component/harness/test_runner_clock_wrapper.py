"""The runner clock's wrapper, run by a real shell as the runner pod runs it.

It must pass the runner's exit code through, keep the runner's own output,
and stamp a run's start and end; the figures it adds on its own (wrapping
``true``) are printed, as the measurement behind ``WRAPPER_SLACK``.
"""

from __future__ import annotations

import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from longhaul.fixtures.engine.launch import Implementations, runner_command
from longhaul.scenarios.runner_clock import WRAPPER_SLACK, parse_runner_clock

pytestmark = pytest.mark.component


def _run(runner_cmd: str, override: str | None = None, *, path: str | None = None) -> tuple[int, str]:
    line = runner_command(Implementations(runner_image="-", runner_cmd=runner_cmd), override, clock=True)
    assert line is not None
    env = {**os.environ, **({"PATH": path} if path else {})}
    done = subprocess.run(shlex.split(line), capture_output=True, text=True, timeout=60, env=env)
    return done.returncode, done.stdout + done.stderr


@pytest.mark.parametrize("shell", ["bash", "sh"])
def test_with_bash_or_posix_sh_and_date_alike(shell: str, tmp_path: Path) -> None:
    """An image without bash gets the POSIX sh wrapper with `date +%s.%N`; both give a figure."""
    path = None
    if shell == "sh":  # a PATH with sh, date and sleep but no bash
        for tool in ("sh", "date", "sleep"):
            found = shutil.which(tool)
            assert found is not None
            (tmp_path / tool).symlink_to(found)
        path = str(tmp_path)
    rc, log = _run("sleep 0.2", path=path)
    clock = parse_runner_clock(log)
    assert rc == 0 and clock is not None and clock.seconds >= 0.2, log
    precision = len(log.split("start ", 1)[1].split()[0].split(".")[1])
    assert precision == (6 if shell == "bash" else 9), log  # $EPOCHREALTIME: µs; date %N: ns


def test_the_exit_code_and_output_pass_through_with_stamps_around_them() -> None:
    rc, log = _run(f"{shlex.quote(sys.executable)} -c 'import sys; print(\"runner says hi\"); sys.exit(66)'")
    assert rc == 66
    clock = parse_runner_clock(log)
    assert clock is not None and clock.exit_code == 66, log
    assert clock.cpu_seconds is not None and clock.cpu_seconds > 0, "python's start-up used some CPU"
    lines = log.splitlines()
    assert lines[0].startswith("longhaul-clock start") and lines[-3].startswith("longhaul-clock exit")
    assert "runner says hi" in lines[1:-3]


def test_a_scenario_override_keeps_its_setup_outside_the_measured_run() -> None:
    """The stamp is taken where ``{runner}`` stands: the scenario's own set-up is not the runner's time."""
    before = time.time()
    rc, log = _run("sleep 0.3", override="sleep 0.5 && exec {runner}")
    clock = parse_runner_clock(log)
    assert rc == 0 and clock is not None
    assert clock.started >= before + 0.5, "the clock starts after the scenario's set-up"
    assert clock.seconds >= 0.3, "and covers the runner's whole run"


def test_what_the_wrapper_adds_on_its_own_is_measured() -> None:
    figures = []
    for _ in range(20):
        rc, log = _run("true")
        clock = parse_runner_clock(log)
        assert rc == 0 and clock is not None, log
        figures.append(clock.seconds)
    print(
        f"runner clock around `true`: median {statistics.median(figures) * 1000:.1f} ms, "
        f"max {max(figures) * 1000:.1f} ms over {len(figures)} runs (WRAPPER_SLACK {WRAPPER_SLACK:g} s)"
    )
    assert all(f >= 0 for f in figures)
