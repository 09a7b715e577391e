"""``-n auto`` in the e2e tier starts one worker per scenario the run selects."""

from __future__ import annotations

import pytest

from longhaul.fixtures.plugin.workers import catalog_scenarios, selected
from longhaul.scenarios.catalog import FAST_TIER, REALTIME_TIER, SOAK_TIER

SCENARIOS = [
    ("long-session-survives-rotations", {"e2e", "fast", "rotation"}),
    ("missing-file-fails-fast-absent", {"e2e", "fast", "failfast"}),
    ("legacy-env-fallback", {"e2e", "fast", "fallback"}),
    ("soak-long-session", {"e2e", "soak", "rotation"}),
]


def test_the_fast_tier_gets_a_worker_per_scenario() -> None:
    assert selected(catalog_scenarios(), "e2e and not soak", "") == len(FAST_TIER)
    assert selected(catalog_scenarios(), "", "") == len(FAST_TIER) + len(SOAK_TIER) + len(REALTIME_TIER)
    assert selected(catalog_scenarios(), "realtime", "") == len(REALTIME_TIER)


@pytest.mark.parametrize(
    ("markexpr", "keyword", "expected"),
    [
        ("e2e and not soak", "", 3),
        ("failfast", "", 1),
        ("e2e and not soak", "LEGACY or absent", 2),  # -k matches substrings, case-insensitively
        ("e2e and not soak", "not fallback", 2),  # markers are keywords too
        ("soak", "long", 1),
        ("e2e", "nothing-like-this", 0),
    ],
)
def test_the_count_follows_m_and_k(markexpr: str, keyword: str, expected: int) -> None:
    assert selected(SCENARIOS, markexpr, keyword) == expected


def test_a_bad_expression_is_pytests_to_report() -> None:
    with pytest.raises(Exception, match="expected"):
        selected(SCENARIOS, "e2e and (", "")


def test_the_hook_answers_before_xdists_own() -> None:
    """The hook is first-result: after xdist's own (the CPU count: 2 here) it would never be asked.

    Found by a run: without ``tryfirst`` the e2e tier ran on 2 workers, 537 s instead of ~100 s.
    """
    from longhaul.fixtures.plugin.workers import pytest_xdist_auto_num_workers

    options = pytest_xdist_auto_num_workers.pytest_impl  # type: ignore[attr-defined]
    assert options.get("tryfirst") is True
    assert options.get("optionalhook") is True
