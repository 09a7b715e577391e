"""What an implementation could not be judged on reaches summary.md and the JUnit summary."""

from __future__ import annotations

from pathlib import Path

from longhaul.fixtures.engine.summary_md import render_markdown
from longhaul.fixtures.plugin.junit_summary import NOT_JUDGED_PROPERTY, read_results, render

RECORD = {
    "scenario": "upstream-contract-survives-rotations",
    "outcome": "passed",
    "failed": [],
    "rotations": 5,
    "accepted": 4,
    "rejected": 0,
    "token_age_at_connect_s": [1.0],
    "reconnect_gaps_s": [0.5],
    "messages": 0,
    "exit_codes": [0],
    "seconds": 40,
    "not_judged": {"every message exactly once": "the runner's protocol (opaque) has no acks"},
}


def test_summary_md_lists_expectations_not_judged() -> None:
    text = render_markdown([RECORD], links=False)
    assert "Expectations not judged:" in text
    assert "- upstream-contract-survives-rotations: every message exactly once: the runner's protocol" in text


def test_junit_summary_lists_them_too(tmp_path: Path) -> None:
    xml = tmp_path / "junit.xml"
    xml.write_text(
        '<testsuites><testsuite name="pytest" tests="1" failures="0" errors="0" skipped="0" time="1">'
        '<testcase classname="e2e.test_scenarios" name="test_scenario[x]">'
        f'<properties><property name="{NOT_JUDGED_PROPERTY}" value="every message exactly once: opaque"/>'
        "</properties></testcase></testsuite></testsuites>"
    )
    result = read_results(xml)
    assert result.ok and result.passed == 1
    text = render([result])
    assert "Expectations not judged for this implementation (1)" in text
    assert "every message exactly once: opaque" in text
