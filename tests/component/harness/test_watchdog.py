"""The harness watchdog and the start-up reaper, with real processes and no cluster.

A stand-in harness (a Python process using the real harness guard) starts a
process group beside itself and registers it; killing the stand-in must take
the group down.  The reaper must clean what a dead harness whose watchdog died
too left registered, and never touch a live run or a recycled pid.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from longhaul.fixtures.engine.harness_guard import run_id_of
from longhaul.fixtures.engine.watchdog import reap_stale_registries
from longhaul.fixtures.util.procs import pid_alive, start_ticks
from longhaul.fixtures.util.waiting import wait_for

pytestmark = pytest.mark.component
REPO = Path(__file__).resolve().parents[3]

HARNESS = textwrap.dedent(
    """
    import subprocess, sys, time
    from longhaul.fixtures.engine.harness_guard import harness_guard

    guard = harness_guard()
    child = subprocess.Popen(["sh", "-c", "sleep 300 & sleep 300"], start_new_session=True)
    guard.register_process("sleeper", child.pid)
    print(guard.run_id, child.pid, guard.watchdog_pid, flush=True)
    time.sleep(300)
    """
)


def _group(pgid: int) -> list[int]:
    return [
        int(p.name)
        for p in Path("/proc").iterdir()
        if p.name.isdigit() and _pgrp(p) == pgid and pid_alive(int(p.name))
    ]


def _pgrp(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(") ", 1)[1].split()[2])
    except (OSError, IndexError, ValueError):
        return None


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_the_watchdog_kills_what_a_killed_harness_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sig: signal.Signals
) -> None:
    monkeypatch.setenv("LONGHAUL_RUNS", str(tmp_path / "runs"))
    harness = subprocess.Popen(
        [sys.executable, "-c", HARNESS],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert harness.stdout is not None
        run_id, child, watchdog = harness.stdout.readline().split()
        pgid = int(child)
        wait_for("sh and its two sleeps", lambda: _group(pgid), lambda g: len(g) == 3, timeout=30)
        registry = tmp_path / "runs" / run_id
        assert json.loads((registry / "procs" / f"{child}.json").read_text())["name"] == "sleeper"
        harness.send_signal(sig)
        assert harness.wait(timeout=30) == -sig
        left = wait_for(
            "the sleeper group and the registry gone",
            lambda: (_group(pgid), registry.exists(), pid_alive(int(watchdog))),
            lambda found: found == ([], False, False),
            timeout=30,
        )
        assert left == ([], False, False)
    finally:
        harness.kill()
        harness.wait(timeout=10)


def _registry(root: Path, run_id: str, procs: dict[str, int | None]) -> Path:
    registry = root / run_id
    (registry / "procs").mkdir(parents=True)
    for name, pid in procs.items():
        entry = {"name": name, "pid": pid, "ticks": start_ticks(pid) if pid else None}
        (registry / "procs" / f"{pid}.json").write_text(json.dumps(entry))
    return registry


def test_the_reaper_cleans_dead_runs_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LONGHAUL_RUNS", str(tmp_path))
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead_run = f"{gone.pid}-1"  # a harness that exited (pid and start time no longer match)
    live_run = run_id_of(os.getpid())
    assert live_run is not None
    orphan = subprocess.Popen(["sleep", "300"], start_new_session=True)
    kept = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        dead = _registry(tmp_path, dead_run, {"orphan": orphan.pid})
        live = _registry(tmp_path, live_run, {"kept": kept.pid})
        assert reap_stale_registries() == [dead_run]
        assert orphan.wait(timeout=15) == -signal.SIGTERM
        assert not dead.exists()
        assert live.exists() and kept.poll() is None, "a live harness's run is not reaped"
    finally:
        for proc in (orphan, kept):
            proc.kill()
            proc.wait(timeout=10)


def test_a_recycled_pid_is_never_killed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A registered pid whose start time differs is another process now: the reaper leaves it."""
    monkeypatch.setenv("LONGHAUL_RUNS", str(tmp_path))
    stranger = subprocess.Popen(["sleep", "300"], start_new_session=True)
    try:
        registry = tmp_path / "999999999-1"
        (registry / "procs").mkdir(parents=True)
        ticks = start_ticks(stranger.pid)
        assert ticks is not None
        entry = {"name": "backend", "pid": stranger.pid, "ticks": ticks + 1}  # started after "ours" died
        (registry / "procs" / f"{stranger.pid}.json").write_text(json.dumps(entry))
        assert reap_stale_registries() == ["999999999-1"]
        assert stranger.poll() is None
    finally:
        stranger.kill()
        stranger.wait(timeout=10)
