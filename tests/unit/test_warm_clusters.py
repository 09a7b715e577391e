"""The controller's cluster warm-up: what it warms, and that a warm private cluster has one taker."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from longhaul.fixtures.plugin import cluster as cluster_plugin
from longhaul.fixtures.plugin.warm_clusters import private_cluster_wanted, scenario_names

IDS = [
    "e2e/test_scenarios.py::test_scenario[long-session-survives-rotations]",
    "e2e/test_scenarios.py::test_scenario[apiserver-restarted]",
    "tests/unit/test_plugin.py::test_something",
]


class FakeConfig:
    """Just what the claim files need: the run owner is this process (a controller)."""

    def __init__(self) -> None:
        self.option = SimpleNamespace()

    def getoption(self, name: str, default: Any = None) -> Any:
        return default


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LONGHAUL_CACHE", str(tmp_path))
    return tmp_path


def test_only_scenario_ids_name_scenarios() -> None:
    assert scenario_names(IDS) == ["long-session-survives-rotations", "apiserver-restarted"]
    assert scenario_names(["e2e/test_e2e_scenario.py::test_fallback"]) == []


def test_a_private_cluster_is_warmed_only_for_a_scenario_that_disrupts_its_cluster(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from longhaul.fixtures.plugin import e2e
    from longhaul.profiles import load_reference

    monkeypatch.setattr(e2e, "implementation_profile", lambda config: load_reference())
    config: Any = FakeConfig()
    assert private_cluster_wanted(config, ["apiserver-restarted"])
    assert not private_cluster_wanted(config, ["long-session-survives-rotations", "legacy-env-fallback"])


def test_the_warm_private_cluster_goes_to_one_taker_only(cache: Path) -> None:
    config: Any = FakeConfig()
    assert cluster_plugin.claim_warm_private(config, "lh-1") is None  # nothing offered yet
    name = cluster_plugin.offer_warm_private(config, "lh-1")
    assert name == "lh-1-iso-warm"
    assert cluster_plugin.claim_warm_private(config, "lh-1") == name
    assert cluster_plugin.claim_warm_private(config, "lh-1") is None  # a second scenario gets its own
    assert cluster_plugin.warm_private_claimed(config, "lh-1")
    cluster_plugin.withdraw_warm_private(config, "lh-1")
    assert not cluster_plugin.warm_private_claimed(config, "lh-1")
    assert cluster_plugin.claim_warm_private(config, "lh-1") is None  # withdrawn: nothing to take


def test_an_offer_of_an_earlier_run_is_not_taken_by_a_later_one(cache: Path) -> None:
    config: Any = FakeConfig()
    cluster_plugin.offer_warm_private(config, "lh-2")
    marker = next(cache.rglob("offer-lh-2-iso-warm-*"))
    marker.rename(marker.with_name("offer-lh-2-iso-warm-1"))  # another (earlier) controller's pid
    assert cluster_plugin.claim_warm_private(config, "lh-2") is None
