"""The run report rebuilt from the stored bundles under ``tests/data/report``.

The bundles come from a real e2e run on the local provider (Kubernetes
v1.34.4): ``legacy-env-fallback`` passed against the reference stubs, and
``long-session-survives-rotations`` failed against the bug zoo's
``operator_env_token_only``.  Their evidence is judged again here by the
catalog's own scenarios, so the page shows real verdicts; the passing
bundle is deleted afterwards, as a run without ``--keep-artifacts`` does.
They hold fingerprints only (the run's leak scan passed, and
``test_the_stored_bundles_hold_no_token`` checks again).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from longhaul.fixtures.engine.report import NotJudged, scenario_report
from longhaul.fixtures.engine.run_report import Written, write_run_report
from longhaul.fixtures.engine.timeline import write_timeline
from longhaul.scenarios.catalog import FAST_TIER
from longhaul.scenarios.evidence_file import read_evidence

STORED = Path(__file__).resolve().parents[1] / "data" / "report"
PASSING, FAILING = "legacy-env-fallback", "long-session-survives-rotations"
SKIPPED = NotJudged(
    "apiserver-restarted", "skipped", "the kind provider cannot restart-components (needs the local provider)"
)
FACTS = [
    ("cluster provider", "local (auto: no kind binary found)"),
    ("Kubernetes", "v1.34.4"),
    ("operator under test", "--operator-cmd python -m bugzoo.operator_env_token_only"),
    ("runner under test", "runner_stub (reference)"),
    ("backend under test", "backend_stub (reference)"),
    ("longhaul", "0.1.0"),
    ("selection", "-m 'e2e and not soak' -k 'long-session-survives-rotations or legacy-env-fallback'"),
]


def build_report(artifacts: Path) -> tuple[Written, list[dict[str, Any]]]:
    """Copy the stored bundles into ``artifacts``, judge them, write the run report there."""
    shutil.copytree(STORED, artifacts, dirs_exist_ok=True)
    by_name = {s.name: s for s in FAST_TIER}
    records = []
    for name in (PASSING, FAILING):
        bundle = artifacts / name
        evidence = read_evidence(bundle)
        scenario = by_name[name]
        verdict = scenario.judge(evidence)
        write_timeline(evidence, bundle / "timeline.svg")
        records.append(scenario_report(scenario, evidence, bundle, verdict.failed, kept=not verdict.passed))
        if verdict.passed:
            shutil.rmtree(bundle)
    return write_run_report(records, [SKIPPED], FACTS, artifacts), records
