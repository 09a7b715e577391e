"""``python -m bugzoo``: the fast tier against the reference stubs, then against every variant.

One cluster serves every run (``python -m longhaul.fixtures.cluster up``, then
``--reuse-cluster``; ``down`` in ``finally``).  The reference must pass the
whole tier first: a kill only means something against a suite that passes.
Each variant then runs the scenarios it claims will catch it (``KILLED_BY``)
and, only if none did, the rest of the tier; with ``--full`` it runs the whole
tier for a complete kill matrix.  A variant is killed only by a scenario that
*failed*; a harness error is reported as such, never as a kill.

Exit status: 0 when the reference passed and every variant was killed; 1 when
the reference failed or a variant survived (or errored); 2 when the cluster
could not be brought up.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bugzoo import matrix
from bugzoo.catalog import PACKAGE_DIR, Variant, all_variants, load
from bugzoo.runs import PytestRun, RunResult
from longhaul.fixtures.engine.launch import code_root
from longhaul.fixtures.util.packages import package_dir
from longhaul.scenarios.catalog import FAST_TIER

RUNNER_CODE_DIRS = (PACKAGE_DIR, package_dir("runner_stub"), package_dir("longhaul"))


def say(message: str) -> None:
    print(f"[bugzoo] {message}", flush=True)


@dataclass(frozen=True)
class Verdict:
    name: str
    component: str
    bug: str
    result: RunResult

    @property
    def outcome(self) -> str:
        if self.result.failed:
            return "killed"
        return "error" if self.result.errors or self.result.ran == 0 else "SURVIVED"

    def killers(self) -> str:
        if self.result.failed:
            return "; ".join(f"{s} ({', '.join(labels)})" for s, labels in self.result.failed.items())
        if self.result.errors:
            return "; ".join(f"{s}: error {msg}" for s, msg in self.result.errors.items())
        return f"nothing: {len(self.result.passed)} scenarios passed"


def hunt(variant: Variant, template: PytestRun, *, full: bool) -> RunResult:
    """Run the scenarios expected to kill ``variant`` first, then (if it lives) the rest of the tier."""
    run = PytestRun(
        variant.name,
        template.provider,
        template.cluster_name,
        template.out.parent / variant.name,
        variant.pytest_options(RUNNER_CODE_DIRS),
        template.extra,
    )
    if full:
        return run.run("all")
    first = run.run("expected", select=variant.killed_by, stop_early=True)
    if first.failed:
        return first
    say(f"{variant.name}: not caught by {', '.join(variant.killed_by)}; running the rest of the tier")
    return first.merge(run.run("rest", deselect=variant.killed_by, stop_early=True))


def cluster(action: str, provider: str, name: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "longhaul.fixtures.cluster", action, "--provider", provider, "--name", name]
    return subprocess.run(argv, cwd=code_root(), stdout=subprocess.PIPE, text=True, check=False)


def table(reference: RunResult | None, verdicts: Sequence[Verdict]) -> str:
    lines = [
        "| variant | component | bug modelled | killed by (scenario: failed expectations) | time |",
        "|---|---|---|---|---:|",
    ]
    if reference is not None:
        ok = "passed" if _reference_ok(reference) else "FAILED"
        summary = f"{ok}: {len(reference.passed)} passed, {len(reference.failed)} failed"
        summary += f", {len(reference.errors)} errors, {len(reference.skipped)} skipped"
        lines.append(f"| reference stubs | all | none | {summary} | {reference.seconds:.0f} s |")
    for v in verdicts:
        mark = "" if v.outcome == "killed" else f"**{v.outcome}**: "
        lines.append(
            f"| `{v.name}` | {v.component} | {v.bug} | {mark}{v.killers()} | {v.result.seconds:.0f} s |"
        )
    return "\n".join(lines) + "\n"


def _reference_ok(result: RunResult) -> bool:
    return not result.failed and not result.errors and len(result.passed) > 0


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bugzoo", description=__doc__.split("\n\n")[0])
    p.add_argument("--provider", choices=["local", "kind"], default="local")
    p.add_argument("--cluster-name", default="mutants")
    p.add_argument("--only", default="", help="comma-separated variant names (default: every variant)")
    p.add_argument("--skip-reference", action="store_true", help="do not run the reference first")
    p.add_argument("--full", action="store_true", help="the whole tier per variant (no early stop)")
    p.add_argument("--parallel", type=int, default=6, help="variants hunted at once [default 6]")
    p.add_argument("--keep-cluster", action="store_true", help="leave the cluster up at the end")
    p.add_argument("--out", type=Path, default=code_root() / "longhaul-artifacts" / "mutants")
    p.add_argument("pytest_args", nargs=argparse.REMAINDER, help="after --: passed to every pytest run")
    return p.parse_args(argv)


def run_zoo(args: argparse.Namespace, variants: Sequence[Variant], template: PytestRun) -> int:
    started = time.monotonic()
    reference: RunResult | None = None
    verdicts: list[Verdict] = []
    if not args.skip_reference:
        say("reference stubs: the whole fast tier, which must pass")
        reference = template.run("all")
        ok = _reference_ok(reference)
        say(f"reference stubs: {'passed' if ok else 'FAILED'} in {reference.seconds:.0f}s")
        if not ok:
            print(table(reference, verdicts))
            return 1

    def judge(variant: Variant) -> Verdict:
        say(f"{variant.name} [{variant.component}]: {variant.bug}")
        return Verdict(variant.name, variant.component, variant.bug, hunt(variant, template, full=args.full))

    # Variants hunt side by side on the one cluster (each in its own namespaces): most are killed
    # within seconds of their deciding event, so the zoo takes about as long as its slowest kill.
    with ThreadPoolExecutor(max_workers=max(1, args.parallel)) as pool:
        for i, verdict in enumerate(pool.map(judge, variants), 1):
            verdicts.append(verdict)
            took, elapsed = verdict.result.seconds, time.monotonic() - started
            say(
                f"({i}/{len(variants)}) {verdict.name}: {verdict.outcome}: {verdict.killers()} "
                f"({took:.0f}s, {elapsed:.0f}s so far)"
            )
    labels = matrix.expectation_labels(FAST_TIER)
    kills = [matrix.Kills(v.name, v.result.failed) for v in verdicts]
    report = table(reference, verdicts) + "\n## Kill matrix\n\n" + matrix.render(labels, kills)
    (template.out.parent / "bugzoo.md").write_text(report)
    print(report, flush=True)
    if unisolated := matrix.lonely(labels, kills):
        say(f"expectations that killed no variant alone: {', '.join(unisolated)}")
    survivors = [v.name for v in verdicts if v.outcome != "killed"]
    killed, elapsed = len(verdicts) - len(survivors), time.monotonic() - started
    say(f"{killed}/{len(verdicts)} variants killed in {elapsed:.0f}s")
    if survivors:
        say(f"NOT killed: {', '.join(survivors)}")
    return 1 if survivors else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    variants = [load(n.strip()) for n in args.only.split(",") if n.strip()] or all_variants()
    scenarios = {s.name for s in FAST_TIER}
    stale = {v.name: sorted(set(v.killed_by) - scenarios) for v in variants if set(v.killed_by) - scenarios}
    if stale:
        say(f"KILLED_BY names scenarios that do not exist: {stale}")
        return 2
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    extra = [a for a in args.pytest_args if a != "--"]
    template = PytestRun("reference", args.provider, args.cluster_name, out / "reference", (), extra)
    say(f"{len(variants)} variants; cluster {args.cluster_name} ({args.provider}); results in {out}")
    if cluster("up", args.provider, args.cluster_name).returncode != 0:
        say(f"cluster {args.cluster_name} did not come up")
        return 2
    try:
        return run_zoo(args, variants, template)
    finally:
        if args.keep_cluster:
            say(f"--keep-cluster: cluster {args.cluster_name} left running")
        else:
            cluster("down", args.provider, args.cluster_name)


if __name__ == "__main__":
    sys.exit(main())
