"""Figures of the e2e fast tier: suite wall time (cluster up included and excluded), how old a token
is when the runner presents it after a Secret update (p50/p95), and fail-fast detection time.

``python -m bench.e2e [--quick] [--workers N] [--json FILE]``.  Prints figures, never fails on
them; the target from issue 5 (whole fast tier ≤ 5 min, warm caches) is shown beside its figure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench._util import Figures, markdown, summarize, write_json
from longhaul.fixtures.util.progress import phase, say

REPO = Path(__file__).resolve().parents[1]
TARGETS = {"fast_tier_wall_with_cluster_up_s": 300.0, "fast_tier_wall_cluster_reused_s": 300.0}


def run_fast_tier(artifacts: Path, workers: int, extra: list[str]) -> tuple[float, int]:
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "-q",
        "-o",
        "testpaths=e2e",
        "-m",
        "e2e and not soak",
        "-n",
        str(workers),
        "--artifacts-dir",
        str(artifacts),
        *extra,
    ]
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
    took = time.perf_counter() - start
    tail = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
    say(f"fast tier: {tail} in {took:.0f}s")
    return took, done.returncode


def scenario_figures(artifacts: Path) -> Figures:
    records = json.loads((artifacts / "scenarios.json").read_text())
    ages = [a for r in records for a in r["token_age_at_connect_s"]]
    gaps = [g for r in records for g in r["reconnect_gaps_s"]]
    # Container start/finish times have 1 s resolution: 0 means "within the same second".
    fail_fast = [
        t
        for r in records
        if r["scenario"].startswith("missing-file")
        for t in r["seconds_to_exit"]
        if t is not None
    ]
    figures: Figures = {}
    for name, samples in (
        ("token_age_at_connect_s", ages),
        ("reconnect_gap_s", gaps),
        ("fail_fast_exit_s", fail_fast),
    ):
        if samples:
            figures[name] = summarize(samples)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.e2e", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="only the run on a reused cluster")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("LONGHAUL_E2E_WORKERS", "3")))
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    figures: Figures = {}
    with tempfile.TemporaryDirectory(prefix="longhaul-bench-e2e-") as tmp:
        if not args.quick:
            with phase("fast tier, cluster up included"):
                took, rc = run_fast_tier(Path(tmp) / "cold", args.workers, [])
            figures["fast_tier_wall_with_cluster_up_s"] = summarize([took])
        name = f"bench-e2e-{os.getpid()}"
        up = subprocess.run(
            [sys.executable, "-m", "longhaul.fixtures.cluster", "up", "--name", name],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        if up.returncode != 0:
            print(up.stderr[-2000:], file=sys.stderr)
            return 2
        try:
            with phase("fast tier, cluster reused"):
                took, rc = run_fast_tier(Path(tmp) / "warm", args.workers, ["--reuse-cluster", name])
            figures["fast_tier_wall_cluster_reused_s"] = summarize([took])
            figures.update(scenario_figures(Path(tmp) / "warm"))
        finally:
            subprocess.run(
                [sys.executable, "-m", "longhaul.fixtures.cluster", "down", "--name", name],
                cwd=REPO,
                capture_output=True,
            )
    print(markdown(figures, TARGETS))
    if rc != 0:
        print(f"note: the fast tier itself failed (exit {rc}); figures are from a failing run")
    if args.json:
        write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
