"""The scenarios of ``longhaul.scenarios.catalog`` on a real cluster: longhaul's main job.

One test for every tier: each scenario carries its tier (``fast``, ``soak``,
``realtime``) and its kind (``rotation``, ``fallback``, ``failfast``, ``fault``)
as markers, so ``-m "e2e and not soak and not realtime"`` or ``-m failfast``
select them.  Each scenario is first bound to the implementation's profile
(:func:`~longhaul.scenarios.binding.bind`): one that needs what the
implementation cannot do is skipped with that reason, and expectations it
cannot be judged on are reported as not judged.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from longhaul.fixtures.cluster import Cluster
from longhaul.fixtures.cluster.capabilities import lacking_reason
from longhaul.fixtures.engine.cluster_logs import export_into_bundle
from longhaul.fixtures.engine.launch import Implementations
from longhaul.fixtures.engine.report import scenario_report
from longhaul.fixtures.engine.run import run_scenario
from longhaul.fixtures.plugin.junit_summary import NOT_JUDGED_PROPERTY
from longhaul.fixtures.util.progress import say
from longhaul.scenarios.binding import Unrunnable, bind
from longhaul.scenarios.catalog import FAST_TIER, REALTIME_TIER, SOAK_TIER
from longhaul.scenarios.model import Scenario
from longhaul.tokens import redact_jwt_shaped

pytestmark = pytest.mark.e2e
HARNESS_ERROR = "longhaul harness error"  # the bug zoo reads it: such a failure is no kill


def _marks(scenario: Scenario) -> list[pytest.MarkDecorator]:
    marks = [getattr(pytest.mark, scenario.tier), getattr(pytest.mark, scenario.kind)]
    if scenario.tier == "realtime":  # long like the soak tier: `-m "e2e and not soak"` leaves it out too
        marks.append(pytest.mark.soak)
    return marks


def _params(scenarios: tuple[Scenario, ...]) -> list[object]:
    return [pytest.param(s, id=s.name, marks=_marks(s)) for s in scenarios]


@pytest.mark.parametrize("scenario", _params(FAST_TIER + SOAK_TIER + REALTIME_TIER))
def test_scenario(
    scenario: Scenario,
    cluster: Cluster,
    implementations: Implementations,
    artifacts_root: Path,
    request: pytest.FixtureRequest,
) -> None:
    missing = lacking_reason(cluster, scenario.needs)
    if missing:
        pytest.skip(missing)
    bound = bind(scenario, implementations.profile)
    if isinstance(bound, Unrunnable):
        pytest.skip(bound.reason)
    scenario = bound
    if scenario.not_judgeable:  # JUnit <properties> of the test case: what this implementation could not be
        request.node.user_properties.append(
            (NOT_JUDGED_PROPERTY, "; ".join(f"{k}: {v}" for k, v in scenario.not_judgeable.items()))
        )
    if scenario.disrupts_cluster:  # on a cluster of its own, so the other scenarios run beside it
        cluster = request.getfixturevalue("isolated_cluster")
    try:
        evidence = run_scenario(scenario, cluster, implementations, artifacts_root)
    except Exception:
        export_into_bundle(cluster, artifacts_root / scenario.name, None)
        raise
    if evidence.aborted:  # nothing was judged: say so as the harness's failure, never as a verdict
        export_into_bundle(cluster, artifacts_root / scenario.name, evidence.leak_probe)
        pytest.fail(f"{HARNESS_ERROR}: {redact_jwt_shaped(evidence.aborted)}", pytrace=False)
    verdict = scenario.judge(evidence)
    bundle = artifacts_root / scenario.name
    kept = not verdict.passed or bool(request.config.getoption("--keep-artifacts"))
    record = scenario_report(
        scenario, evidence, bundle, verdict.failed, kept=kept, not_judged=verdict.not_judged
    )
    request.node.user_properties.append(("longhaul", json.dumps(record, default=str)))
    if not verdict.passed:  # the cluster's side of the story, while the cluster still exists
        say(f"{scenario.name}: {export_into_bundle(cluster, bundle, evidence.leak_probe)}")
    if not kept:
        shutil.rmtree(bundle, ignore_errors=True)
    # Problems may quote a log line of the implementation under test: keep any token out of reports.
    assert verdict.passed, redact_jwt_shaped(
        f"{verdict.describe()}\n"
        f"observed: {json.dumps(evidence.summary(), indent=1, default=str)[:4000]}\nbundle: {bundle}"
    )
