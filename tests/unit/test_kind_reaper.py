"""Which kind clusters the reaper deletes: a dead run's, an ancient one, never a kept or a foreign one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from longhaul.fixtures.cluster.kind import reaper

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LONGHAUL_CACHE", str(tmp_path))
    return tmp_path


def _ours(cache: Path, name: str) -> None:
    (cache / "kind" / name).mkdir(parents=True)


def _judge(name: str, *, alive: bool, age_h: float | None) -> reaper.Verdict:
    born = None if age_h is None else NOW - timedelta(hours=age_h)
    return reaper.judge(name, alive=lambda _pid: alive, created=lambda _n: born, now=NOW)


def test_a_dead_runs_clusters_are_stale_shared_and_private(cache: Path) -> None:
    for name in ("lh-123", "lh-123-iso-456"):
        _ours(cache, name)
        verdict = _judge(name, alive=False, age_h=0.5)
        assert verdict.stale and "pid 123" in verdict.why


def test_a_live_runs_cluster_stays_until_it_is_ancient(cache: Path) -> None:
    _ours(cache, "lh-7")
    assert not _judge("lh-7", alive=True, age_h=2).stale
    assert _judge("lh-7", alive=True, age_h=reaper.MAX_AGE_HOURS + 1).stale  # a reused pid


def test_another_machines_young_cluster_is_left_alone_an_old_one_is_not(cache: Path) -> None:
    assert not _judge("lh-9", alive=False, age_h=1).stale
    assert _judge("lh-9", alive=False, age_h=reaper.MAX_AGE_HOURS * 2).stale


def test_kept_and_differently_named_clusters_are_never_reaped(cache: Path) -> None:
    _ours(cache, "lh-5")
    reaper.kept_marker("lh-5").write_text("kept\n")
    assert not _judge("lh-5", alive=False, age_h=1000).stale
    for name in ("mutants", "dev", "lh-abc", "kind"):
        assert not _judge(name, alive=False, age_h=1000).stale
