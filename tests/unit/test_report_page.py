"""The run report page in a real headless Chromium: what a person sees when a scenario fails in CI.

Rendered from the stored bundles of a real run (``report_fixture``): the
verdict matrix, each scenario's timeline with its legend, the relative links
into the failing scenario's bundle, and nothing fetched from the network.
``LONGHAUL_REPORT_SCREENSHOT=docs/report.png`` also writes the screenshot
the README shows.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from headless_browser import browser, page
from report_fixture import FAILING, PASSING, SKIPPED, build_report

from longhaul.fixtures.engine.report import scenario_report
from longhaul.fixtures.engine.run_report import write_run_report
from longhaul.ledger import Closed, Handshake, SessionEvidence
from longhaul.scenarios.catalog import FAST_TIER
from longhaul.scenarios.evidence import Evidence, FaultRecord, Rotation, RunnerRun
from longhaul.tokens import fingerprint

__all__ = ["browser", "page"]  # the fixtures, imported for pytest

# Every <text> of every timeline, as the browser laid it out (SVG user units), and the picture's size.
TEXT_BOXES = """
() => [...document.querySelectorAll('svg.timeline')].map(svg => ({
  scenario: svg.closest('section').id,
  width: svg.viewBox.baseVal.width, height: svg.viewBox.baseVal.height,
  boxes: [...svg.querySelectorAll('text')].map(t => {
    const b = t.getBBox(); return {text: t.textContent, x: b.x, y: b.y, w: b.width, h: b.height};
  }),
}))
"""


def open_page(page: Any, index: Path) -> list[str]:
    """Load ``index`` and return every URL the page requested (it must need none but itself)."""
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(index.as_uri())
    page.wait_for_load_state("load")
    return requests


def test_the_page_shows_the_verdict_matrix_timelines_legends_and_relative_links(
    page: Any, tmp_path: Path
) -> None:
    written, _ = build_report(tmp_path / "artifacts")
    requests = open_page(page, written.index)
    assert requests == [written.index.as_uri()], "the page loads nothing but itself"

    matrix = page.locator("table.matrix")
    assert matrix.is_visible()
    rows = matrix.locator("tbody tr")
    assert rows.count() == 3
    failing, passing, skipped = (
        matrix.locator(f"tr:has-text('{n}')") for n in (FAILING, PASSING, SKIPPED.scenario)
    )
    assert (
        "failed" in failing.inner_text()
        and "each reconnect presents the newest token" in failing.inner_text()
    )
    assert "passed" in passing.inner_text() and "all expectations held" in passing.inner_text()
    assert "skipped" in skipped.inner_text() and SKIPPED.reason in skipped.inner_text()

    for name in (FAILING, PASSING):
        section = page.locator(f"section#{name}")
        timeline = section.locator("svg.timeline")
        assert timeline.is_visible(), name
        assert timeline.bounding_box()["height"] > 200, name
        legend = timeline.locator("g.legend")
        assert legend.is_visible(), name
        for entry in ("token rotation", "handshake accepted", "handshake rejected", "disconnect", "fault"):
            assert entry in legend.text_content(), (name, entry)
        assert section.locator(".figure:has-text('token rotations')").is_visible()

    links = page.locator(f"section#{FAILING} nav.links a")
    names = {links.nth(i).inner_text() for i in range(links.count())}
    assert {"ledger", "events", "Secret history", "operator log"} <= names, names
    assert any(n.startswith("runner-") for n in names), names
    for i in range(links.count()):
        href = links.nth(i).get_attribute("href")
        assert href and not urlparse(href).scheme and not href.startswith("/"), f"not relative: {href}"
        assert links.nth(i).is_visible(), href
        resolved = Path(unquote(urlparse(links.nth(i).evaluate("a => a.href")).path))
        assert resolved.is_file(), f"{href} -> {resolved} does not exist"
    # The passing scenario's bundle was deleted: the page says so and links into nothing.
    assert page.locator(f"section#{PASSING} nav.links a").count() == 0
    assert page.locator(f"section#{PASSING}").get_by_text("Bundle not kept").is_visible()

    shot = page.screenshot(full_page=True)
    assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 50_000
    (tmp_path / "report.png").write_bytes(shot)
    wanted = os.environ.get("LONGHAUL_REPORT_SCREENSHOT")
    if wanted:
        shutil.copyfile(tmp_path / "report.png", wanted)


def sixty_rotations() -> Evidence:
    """A session with 60 rotations (one every 2 s), a reconnect after each, faults close together,
    and three pod incarnations: the densest timeline a fast run draws."""
    t0 = 1_000_000.0
    fps = [fingerprint(f"token-{i}") for i in range(60)]
    handshakes = [Handshake(f"c{i}", "ns", "s", 101, "ok", fps[i], t=t0 + 2 * i + 0.5) for i in range(60)]
    handshakes += [
        Handshake(f"r{i}", "ns", "s", 401, "Token expired", fps[i], t=t0 + 2 * i + 1.9) for i in range(60)
    ]
    closes = tuple(Closed(f"c{i}", "s", 1008, "token expired", t=t0 + 2 * i + 1.8) for i in range(60))
    uids = ["0f3c9a1e-1111", "7d2b4e6f-2222", "c4a1f0b3-3333"]
    evidence = Evidence("sixty-rotations", "ns", "s", started=t0, ended=t0 + 121, end_reason="finished")
    evidence.rotations = [Rotation(t0 + 2 * i, fp) for i, fp in enumerate(fps)]
    evidence.ledger = SessionEvidence("s", tuple(handshakes), (), closes, ())
    evidence.faults = [
        FaultRecord(t0 + t, label)
        for t, label in (
            (30, "delete the token Secret"),
            (31, "restart the operator"),
            (32, "delete the runner pod"),
            (90, "restart the backend"),
        )
    ]
    evidence.runs = [
        RunnerRun(
            f"pod-{i}",
            "Succeeded" if i == 2 else "Failed",
            0 if i == 2 else 143,
            t0 + 40 * i,
            t0 + 40 * i + 39,
            "",
            uid=uid,
        )
        for i, uid in enumerate(uids)
    ]
    return evidence


def overlaps(a: dict[str, float], b: dict[str, float]) -> bool:
    return (
        a["x"] < b["x"] + b["w"]
        and b["x"] < a["x"] + a["w"]
        and a["y"] < b["y"] + b["h"]
        and b["y"] < a["y"] + a["h"]
    )


def test_no_two_timeline_labels_overlap_with_sixty_rotations(page: Any, tmp_path: Path) -> None:
    evidence = sixty_rotations()
    scenario = next(s for s in FAST_TIER if s.name == "long-session-survives-rotations")
    record = scenario_report(scenario, evidence, tmp_path / "gone", {}, kept=False)
    record["scenario"] = evidence.scenario
    build_report(tmp_path / "artifacts")  # the stored run's timelines are checked too
    stored = json.loads((tmp_path / "artifacts" / "scenarios.json").read_text())
    written = write_run_report([record, *stored], [], [], tmp_path / "artifacts")
    open_page(page, written.index)

    pictures = page.evaluate(TEXT_BOXES)
    assert {p["scenario"] for p in pictures} == {evidence.scenario, FAILING, PASSING}
    for picture in pictures:
        boxes = picture["boxes"]
        assert len(boxes) > 20, picture["scenario"]
        for i, a in enumerate(boxes):
            assert a["x"] >= 0 and a["x"] + a["w"] <= picture["width"], f"clipped: {a}"
            assert a["y"] >= 0 and a["y"] + a["h"] <= picture["height"], f"clipped: {a}"
            for b in boxes[i + 1 :]:
                assert not overlaps(a, b), f"{picture['scenario']}: {a['text']!r} overlaps {b['text']!r}"

    dense = page.locator(f"section#{evidence.scenario} svg.timeline")
    shown = [b["text"] for p in pictures if p["scenario"] == evidence.scenario for b in p["boxes"]]
    labelled = [fp for fp in (r.fp for r in evidence.rotations) if fp in shown]
    assert 10 <= len(labelled) < 60, "fingerprints are thinned, not dropped altogether"
    titles = dense.locator("line > title").all_text_contents()
    assert all(any(r.fp in t for t in titles) for r in evidence.rotations), "every fingerprint on hover"
    assert sum("0f3c9a1e" in t or "7d2b4e6f" in t or "c4a1f0b3" in t for t in shown) == 3, "pods by UID"
    assert any("deciding event" in t for t in dense.locator("title").all_text_contents())
    dense.screenshot(path=str(tmp_path / "sixty.png"))
