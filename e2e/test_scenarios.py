"""The scenarios of ``scenarios.catalog`` on a real cluster: longhaul's main job."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fixtures.cluster import Cluster, ComponentRestarter
from fixtures.platform import Implementations
from fixtures.report import scenario_report
from fixtures.scenario_run import run_scenario
from longhaul.tokens import redact_jwt_shaped
from scenarios.catalog import FAST_TIER, SOAK_TIER
from scenarios.model import Scenario

pytestmark = pytest.mark.e2e


def check(
    scenario: Scenario,
    cluster: Cluster,
    impl: Implementations,
    artifacts: Path,
    request: pytest.FixtureRequest,
) -> None:
    if "restart" in scenario.needs and not isinstance(cluster, ComponentRestarter):
        pytest.skip(f"the {cluster.provider} provider cannot restart control-plane components")
    evidence = run_scenario(scenario, cluster, impl, artifacts)
    bundle = artifacts / scenario.name
    failed = {e.label: p for e in scenario.expect if (p := e.problems(evidence))}
    summary = evidence.summary()
    request.node.user_properties.append(
        ("longhaul", json.dumps(scenario_report(scenario, evidence, bundle, failed), default=str))
    )
    if not failed and not request.config.getoption("--keep-artifacts"):
        shutil.rmtree(bundle, ignore_errors=True)
    details = "\n".join(f"- {label}:\n    " + "\n    ".join(p) for label, p in failed.items())
    # Problems may quote a log line of the implementation under test: keep any token out of reports.
    assert not failed, redact_jwt_shaped(
        f"scenario {scenario.name}: {len(failed)} expectation(s) failed\n{details}\n"
        f"observed: {json.dumps(summary, indent=1, default=str)[:4000]}\nbundle: {bundle}"
    )


def _params(scenarios: tuple[Scenario, ...]) -> list[object]:
    """Each scenario as a parameter carrying its kind as a marker: ``-m failfast``, ``-m "fault"``."""
    return [pytest.param(s, id=s.name, marks=getattr(pytest.mark, s.kind)) for s in scenarios]


@pytest.mark.fast
@pytest.mark.parametrize("scenario", _params(FAST_TIER))
def test_fast_tier(
    scenario: Scenario,
    cluster: Cluster,
    implementations: Implementations,
    artifacts_root: Path,
    request: pytest.FixtureRequest,
) -> None:
    check(scenario, cluster, implementations, artifacts_root, request)


@pytest.mark.soak
@pytest.mark.parametrize("scenario", _params(SOAK_TIER))
def test_soak_tier(
    scenario: Scenario,
    cluster: Cluster,
    implementations: Implementations,
    artifacts_root: Path,
    request: pytest.FixtureRequest,
) -> None:
    check(scenario, cluster, implementations, artifacts_root, request)
