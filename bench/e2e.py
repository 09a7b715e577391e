"""Figures of the e2e fast tier: wall time against its longest scenario, time to verdict, memory,
token age at connect and reconnect gaps, and the same tier against a plainly broken runner.

``python -m bench.e2e [--workers N|auto] [--skip-broken] [--json FILE]``.  One cluster is brought up
first (its ``up`` is timed on its own) and reused by every run.  Prints figures, never fails on
them; the targets of issue 15 are shown beside their figures:

* the tier's wall time ≤ 90 s and ≤ 1.5 times its longest scenario;
* from the deciding event (the runner's exit, the recorded end, a bound that passed) to the
  verdict: p95 ≤ 5 s, for the reference and for the broken runner alike.

The broken runner is the reference runner pointed at a port where nothing listens: it fails every
connect and gives up, which every session scenario must notice at once instead of at its deadline.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench._util import Figures, markdown, summarize, write_json
from longhaul.fixtures.cluster.local.layout import Layout
from longhaul.fixtures.util.procs import pids_mentioning
from longhaul.fixtures.util.progress import phase, say

REPO = Path(__file__).resolve().parents[1]
BROKEN_RUNNER = "env WEBSOCKET_URL=ws://127.0.0.1:9/unreachable python3 -m runner_stub"
TARGETS = {
    "fast_tier_wall_s": 90.0,
    "wall_over_longest_scenario": 1.5,
    "seconds_to_verdict": 5.0,
    "broken_runner_seconds_to_verdict": 5.0,
}


class PeakMemory:
    """Samples, once a second, the resident memory of a process tree plus a cluster's processes."""

    def __init__(self, cluster_root: Path) -> None:
        self.cluster_root = cluster_root
        self.root_pid = 0
        self.peak_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _children() -> dict[int, list[int]]:
        tree: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                tree.setdefault(ppid, []).append(int(entry.name))
        return tree

    @staticmethod
    def _rss_kib(pid: int) -> int:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def sample(self) -> float:
        tree, seen, todo = self._children(), set(), [self.root_pid] if self.root_pid else []
        while todo:
            pid = todo.pop()
            if pid not in seen:
                seen.add(pid)
                todo += tree.get(pid, [])
        seen.update(pids_mentioning(self.cluster_root))
        return sum(self._rss_kib(pid) for pid in seen) / 1024

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.peak_mib = max(self.peak_mib, self.sample())

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def run_fast_tier(artifacts: Path, workers: str, extra: list[str], memory: PeakMemory) -> tuple[float, int]:
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-o", "testpaths=e2e"]
    argv += ["-m", "e2e and not soak", "-p", "no:hypothesispytest", "-n", workers, "--dist", "worksteal"]
    argv += ["--artifacts-dir", str(artifacts), *extra]
    start = time.perf_counter()
    with subprocess.Popen(
        argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        memory.root_pid = proc.pid
        out, _ = proc.communicate()
    took = time.perf_counter() - start
    tail = (out.strip().splitlines() or ["(no output)"])[-1]
    say(f"fast tier: {tail} in {took:.0f}s")
    return took, proc.returncode


def scenario_records(artifacts: Path) -> list[dict[str, object]]:
    path = artifacts / "scenarios.json"
    return list(json.loads(path.read_text())) if path.exists() else []


def tier_figures(records: list[dict[str, object]], wall: float, prefix: str = "") -> Figures:
    seconds = [float(str(r["seconds"])) for r in records]
    verdicts = [
        float(str(r["seconds_to_verdict"])) for r in records if r.get("seconds_to_verdict") is not None
    ]
    figures: Figures = {f"{prefix}fast_tier_wall_s": summarize([wall])}
    if seconds:
        figures[f"{prefix}scenario_seconds"] = summarize(seconds)
        figures[f"{prefix}sum_of_scenario_seconds"] = summarize([sum(seconds)])
        figures[f"{prefix}wall_over_longest_scenario"] = summarize([wall / max(seconds)])
    if verdicts:
        figures[f"{prefix}seconds_to_verdict"] = summarize(verdicts)
    return figures


def session_figures(records: list[dict[str, object]]) -> Figures:
    figures: Figures = {}
    for name, key in (
        ("token_age_at_connect_s", "token_age_at_connect_s"),
        ("reconnect_gap_s", "reconnect_gaps_s"),
    ):
        samples = [float(a) for r in records for a in r[key]]  # type: ignore[attr-defined]
        if samples:
            figures[name] = summarize(samples)
    return figures


def print_scenarios(title: str, records: list[dict[str, object]]) -> None:
    print(f"\n{title}\n\n| scenario | outcome | seconds | deciding event → verdict s |\n|---|---|---:|---:|")
    for r in sorted(records, key=lambda r: -float(str(r["seconds"]))):
        print(f"| {r['scenario']} | {r['outcome']} | {r['seconds']} | {r.get('seconds_to_verdict')} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.e2e", description=__doc__)
    parser.add_argument(
        "--workers",
        default=os.environ.get("LONGHAUL_E2E_WORKERS", "auto"),
        help="xdist workers; auto (as tox -e e2e): one per scenario",
    )
    parser.add_argument("--skip-broken", action="store_true", help="only the reference implementations")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    name = f"bench-e2e-{os.getpid()}"
    figures: Figures = {}
    cli = [sys.executable, "-m", "longhaul.fixtures.cluster"]
    with tempfile.TemporaryDirectory(prefix="longhaul-bench-e2e-") as tmp:
        start = time.perf_counter()
        with phase(f"cluster {name}: up"):
            up = subprocess.run([*cli, "up", "--name", name], cwd=REPO, capture_output=True, text=True)
        if up.returncode != 0:
            print(up.stderr[-2000:], file=sys.stderr)
            return 2
        figures["cluster_up_s"] = summarize([time.perf_counter() - start])
        rc = 0
        try:
            reuse = ["--reuse-cluster", name]
            with phase("fast tier, reference implementations"), PeakMemory(Layout(name).root) as memory:
                took, rc = run_fast_tier(Path(tmp) / "reference", args.workers, reuse, memory)
            records = scenario_records(Path(tmp) / "reference")
            figures.update(tier_figures(records, took))
            figures["peak_rss_mib_cluster_and_harness"] = summarize([memory.peak_mib])
            figures.update(session_figures(records))
            print_scenarios("reference implementations", records)
            if not args.skip_broken:
                broken_opts = [*reuse, "--runner-cmd", BROKEN_RUNNER]
                with phase("fast tier, broken runner"), PeakMemory(Layout(name).root) as memory:
                    took, _ = run_fast_tier(Path(tmp) / "broken", args.workers, broken_opts, memory)
                broken = scenario_records(Path(tmp) / "broken")
                figures.update(tier_figures(broken, took, prefix="broken_runner_"))
                print_scenarios(f"broken runner ({BROKEN_RUNNER})", broken)
        finally:
            subprocess.run([*cli, "down", "--name", name], cwd=REPO, capture_output=True)
    print()
    print(markdown(figures, TARGETS))
    if rc != 0:
        print(f"note: the reference run itself failed (exit {rc}); figures are from a failing run")
    if args.json:
        write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
