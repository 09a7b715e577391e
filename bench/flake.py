"""The fast tier's flake rate: N runs back to back on one cluster, each scenario's passes out of N.

``python -m bench.flake N [--workers auto] [--json FILE] [-- PYTEST_ARGS...]``.  One local
cluster is brought up and every run reuses it, as a developer's repeated ``tox -e e2e`` would.
For each scenario it prints passes/N, its slowest and median time, and, for every run it did not
pass, the first line of why (a failed expectation, a harness error, a skip) so a flake points at
its root cause instead of at a retry.  A scenario missing from a run's report (the run crashed)
counts as not passed.  Never fails on the figures; exit 1 only if a run could not start at all.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench._util import write_json
from longhaul.fixtures.util.progress import phase, say

REPO = Path(__file__).resolve().parents[1]


def one_run(artifacts: Path, cluster: str, workers: str, extra: list[str]) -> tuple[float, int]:
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:hypothesispytest"]
    argv += ["-o", "testpaths=e2e", "-m", "e2e and not soak", "-n", workers, "--dist", "worksteal"]
    argv += ["--reuse-cluster", cluster, "--artifacts-dir", str(artifacts), "-q", *extra]
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
    took = time.perf_counter() - start
    tail = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
    say(f"run: {tail} ({took:.0f}s)")
    if done.returncode not in (0, 1):  # 1: some failed; anything else: the run itself broke
        (artifacts / "pytest.out").write_text(done.stdout + done.stderr)
    return took, done.returncode


def why(record: dict[str, object]) -> str:
    problems = record.get("problems") or []
    if isinstance(problems, list) and problems:
        return str(problems[0])[:160]
    return str(record.get("outcome"))


@dataclass
class Row:
    """One scenario across the runs."""

    passed: int = 0
    seconds: list[float] = field(default_factory=list)
    why: list[str] = field(default_factory=list)


def tally(runs: list[Path]) -> dict[str, Row]:
    per_run: list[dict[str, dict[str, object]]] = []
    for artifacts in runs:
        path = artifacts / "scenarios.json"
        records = json.loads(path.read_text()) if path.exists() else []
        per_run.append({str(r["scenario"]): r for r in records})
    names = {name for by_name in per_run for name in by_name}
    table = {name: Row() for name in names}
    for index, by_name in enumerate(per_run, start=1):
        for name, row in table.items():
            record = by_name.get(name)
            if record is None:
                row.why.append(f"run {index}: no record: an error before any verdict")
                continue
            row.seconds.append(float(str(record["seconds"])))
            if record.get("outcome") == "passed":
                row.passed += 1
            else:
                row.why.append(f"run {index}: {why(record)}")
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.flake", description=__doc__)
    parser.add_argument("runs", type=int, nargs="?", default=10)
    parser.add_argument("--workers", default=os.environ.get("LONGHAUL_E2E_WORKERS", "auto"))
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("pytest_args", nargs="*", help="after --: passed to every pytest run")
    args = parser.parse_args(argv)
    name = f"bench-flake-{os.getpid()}"
    cli = [sys.executable, "-m", "longhaul.fixtures.cluster"]
    walls: list[float] = []
    with tempfile.TemporaryDirectory(prefix="longhaul-bench-flake-") as tmp:
        with phase(f"cluster {name}: up"):
            up = subprocess.run([*cli, "up", "--name", name], cwd=REPO, capture_output=True, text=True)
        if up.returncode != 0:
            print(up.stderr[-2000:], file=sys.stderr)
            return 1
        dirs = [Path(tmp) / f"run-{i}" for i in range(1, args.runs + 1)]
        try:
            for i, artifacts in enumerate(dirs, start=1):
                with phase(f"fast tier, run {i}/{args.runs}"):
                    took, rc = one_run(artifacts, name, args.workers, args.pytest_args)
                walls.append(took)
                if rc not in (0, 1):
                    say(f"run {i} exited {rc}; its output is in {artifacts / 'pytest.out'}")
            table = tally(dirs)
        finally:
            subprocess.run([*cli, "down", "--name", name], cwd=REPO, capture_output=True)
    n = args.runs
    print(f"\nfast tier, {n} runs on one local cluster; tier wall s: " + ", ".join(f"{w:.0f}" for w in walls))
    print("\n| scenario | passed/N | slowest s | median s |\n|---|---:|---:|---:|")
    for scenario, row in sorted(table.items(), key=lambda kv: (kv[1].passed, kv[0])):
        seconds = sorted(row.seconds)
        median = seconds[len(seconds) // 2] if seconds else float("nan")
        slowest = seconds[-1] if seconds else float("nan")
        print(f"| {scenario} | {row.passed}/{n} | {slowest:.1f} | {median:.1f} |")
    for scenario, row in sorted(table.items()):
        if row.why:
            print(f"\n{scenario}:")
            for reason in row.why:
                print(f"  {reason}")
    if args.json:
        doc = {name: asdict(row) for name, row in table.items()}
        write_json(args.json, {"runs": n, "walls_s": walls, "scenarios": doc})
    return 0


if __name__ == "__main__":
    sys.exit(main())
