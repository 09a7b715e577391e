"""A runner pod that can never start ends its scenario at once, as a harness error with the reason.

Without this a scenario whose image is missing (``ErrImageNeverPull``) waits
out its whole deadline and then blames the implementation: both wrong.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from longhaul.fixtures.cluster import Cluster
from longhaul.fixtures.engine.launch import Implementations
from longhaul.fixtures.engine.run import run_scenario
from longhaul.scenarios.catalog import FAST_TIER

pytestmark = pytest.mark.node

# What the engine promises for a pod that cannot start: the end within this many seconds of the
# session's start (pod scheduling and the kubelet's first status report included).
STUCK_BOUND_SECONDS = 15.0


def test_an_image_that_is_not_on_the_node_ends_the_scenario_as_a_harness_error(
    cluster: Cluster, tmp_path: Path
) -> None:
    scenario = next(s for s in FAST_TIER if s.name == "long-session-survives-rotations")
    absent = Implementations(
        runner_image="longhaul.local/absent:never-built", runner_image_pull_policy="Never"
    )
    started = time.time()
    evidence = run_scenario(scenario, cluster, absent, tmp_path)
    assert "ErrImageNeverPull" in evidence.aborted, (evidence.end_reason, evidence.summary())
    assert evidence.end_reason.startswith("harness error: runner pod "), evidence.end_reason
    took = evidence.ended - evidence.started
    assert took <= STUCK_BOUND_SECONDS, f"ended {took:.1f}s after the session started ({evidence.end_reason})"
    assert evidence.ended - started < scenario.timings.deadline  # not the deadline, by far
