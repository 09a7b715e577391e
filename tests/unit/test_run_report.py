"""The run report without a browser: links, the step summary, the leak scan, label placement.

The page itself is looked at in a real browser in ``test_report_page.py``;
here the facts that need no layout: what links where, what never appears,
and that the label placement is exact.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from report_fixture import FAILING, PASSING, SKIPPED, STORED, build_report

from longhaul.fixtures.engine.label_lanes import GAP, Label, place
from longhaul.fixtures.engine.leak_scan import scan_for_tokens
from longhaul.fixtures.engine.report import scenario_report
from longhaul.fixtures.engine.run_report import STEP_SUMMARY_HINT, write_run_report
from longhaul.scenarios.catalog import FAST_TIER
from longhaul.scenarios.evidence_file import read_evidence
from longhaul.tokens import JWT_SHAPED, WITHHELD, TokenProbe

pytest_plugins = ["pytester"]
MD_LINK = re.compile(r"\]\(([^)]+)\)")


def fake_jwt() -> str:
    """Shaped like a ServiceAccount token, signed by nobody."""

    def part(data: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    claims = {"sub": "system:serviceaccount:ns:sa"}
    return f"{part({'alg': 'RS256', 'kid': 'k'})}.{part(claims)}.{secrets.token_urlsafe(64)}"


def test_summary_md_links_are_relative_and_reach_files(tmp_path: Path) -> None:
    written, _ = build_report(tmp_path / "artifacts")
    text = written.summary.read_text()
    targets = MD_LINK.findall(text)
    assert "index.html" in targets and f"{FAILING}/timeline.svg" in targets, targets
    for target in targets:
        assert not target.startswith("/") and str(tmp_path) not in target, target
        assert (written.summary.parent / target).is_file(), target
    assert f"{SKIPPED.scenario}: skipped: {SKIPPED.reason}" in text


def test_the_step_summary_has_the_table_without_machine_paths(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    build_report(tmp_path / "artifacts")
    text = step.read_text()
    assert f"| {FAILING} | ❌ failed" in text and f"| {PASSING} | ✅ passed" in text
    assert "](" not in text and str(tmp_path) not in text and "/tmp" not in text
    assert STEP_SUMMARY_HINT in text


def test_the_stored_bundles_hold_no_token() -> None:
    for path in sorted(p for p in STORED.rglob("*") if p.is_file()):
        assert not JWT_SHAPED.search(path.read_text(errors="replace")), path


def test_the_stored_bundles_are_judged_as_the_run_judged_them() -> None:
    by_name = {s.name: s for s in FAST_TIER}
    assert by_name[PASSING].judge(read_evidence(STORED / PASSING)).passed
    failed = by_name[FAILING].judge(read_evidence(STORED / FAILING)).failed
    assert "each reconnect presents the newest token" in failed
    assert len({r.uid for r in read_evidence(STORED / FAILING).runs}) == 3, "three pod incarnations"


def test_a_token_in_a_problem_never_reaches_the_record_or_the_page(tmp_path: Path) -> None:
    """The worker scrubs the record with the scenario's own tokens (an opaque one too), and the
    page's own scan withholds anything JWT-shaped that still gets through."""
    jwt, opaque = fake_jwt(), secrets.token_urlsafe(40)
    build_report(tmp_path / "artifacts")
    evidence = read_evidence(tmp_path / "artifacts" / FAILING)
    evidence.leak_probe = TokenProbe.of([jwt, opaque])
    scenario = next(s for s in FAST_TIER if s.name == FAILING)
    failed = {"runner log line": [f"runner said Bearer {jwt}", f"and then {opaque[:30]}…"]}
    record = scenario_report(scenario, evidence, tmp_path / "artifacts" / FAILING, failed, kept=True)
    dumped = json.dumps(record)
    assert jwt not in dumped and jwt.split(".")[2][:16] not in dumped and opaque[:16] not in dumped
    jwt_problem, opaque_problem = record["problems"]["runner log line"]
    assert "<token:" in jwt_problem and WITHHELD in opaque_problem and record["withheld"] == 2

    unscrubbed = {**record, "end": f"timed out: {jwt}"}  # as if a record skipped the worker's scrub
    written = write_run_report([unscrubbed], [], [], tmp_path / "artifacts")
    assert written.leaks and all("withheld from" in leak for leak in written.leaks)
    assert scan_for_tokens([tmp_path / "artifacts"], [jwt, opaque]) == []


def test_the_probe_finds_a_signature_piece_but_not_a_tokens_public_parts() -> None:
    jwt = fake_jwt()
    probe = TokenProbe.of([jwt])
    header, claims, signature = jwt.split(".")
    assert probe.spans(f"log: {signature[-20:]} truncated")
    assert not probe.spans(f"{header}.{claims}.")  # shared by every token of the issuer
    assert probe.withhold(f"x {jwt} y") == (f"x {WITHHELD} y", 1)
    assert "digests" in repr(probe) and signature[:16] not in repr(probe)


@given(st.lists(st.tuples(st.floats(0, 1000), st.floats(5, 120)), max_size=80), st.integers(1, 3))
def test_placed_labels_never_overlap_or_pass_the_right_edge(
    spec: list[tuple[float, float]], lanes: int
) -> None:
    labels = [Label(x, w) for x, w in spec]
    placed = place(labels, lanes, right=1000.0)
    assert len({p.index for p in placed}) == len(placed)
    for p in placed:
        assert p.x + labels[p.index].width <= 1000.0
        for q in placed:
            if q is not p and q.lane == p.lane:
                a, b = sorted((p, q), key=lambda r: r.x)
                assert a.x + labels[a.index].width + GAP <= b.x


def test_the_plugin_writes_the_page_listing_scenarios_not_judged(pytester: pytest.Pytester) -> None:
    """A run where no scenario was judged still gets its page, saying why (skip reason, error)."""
    pytester.makepyfile(
        test_scenarios="""
        import pytest

        @pytest.fixture
        def platform_api():
            raise RuntimeError("the API server never answered")

        @pytest.mark.e2e
        @pytest.mark.parametrize("scenario", ["alpha"])
        def test_scenario(scenario):
            pytest.skip("the kind provider cannot restart-components")

        @pytest.mark.e2e
        @pytest.mark.parametrize("scenario", ["beta"])
        def test_broken(scenario, platform_api):
            pass
        """
    )
    artifacts = pytester.path / "out"
    result = pytester.runpytest("-p", "no:cacheprovider", "--artifacts-dir", str(artifacts))
    result.assert_outcomes(skipped=1, errors=1)
    page = (artifacts / "index.html").read_text()
    assert "alpha" in page and "the kind provider cannot restart-components" in page
    assert "beta" in page and "RuntimeError: the API server never answered" in page
    assert "Not judged:" in (artifacts / "summary.md").read_text()
