"""A first run on a fresh machine: empty caches to the first scenario's verdict, phase by phase.

``python -m bench.cold [--scenario NAME] [--keep-go-modules]``.  Points longhaul's cache, the Go
build cache and (unless ``--keep-go-modules``) the Go module cache at empty directories, then runs
one e2e scenario on the local provider the way a newcomer's first ``tox -e e2e`` would: the
plugin builds Kubernetes and etcd from Go modules (the provider's preparation) while the runner
image is built beside it, the cluster comes up, the scenario runs and is judged.  Prints each
phase's figure from the run's own progress lines, and the total against issue 15's target
(≤ 8 min).  Never fails on timing.  Takes about as long as it measures: minutes, all CPU.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

from bench._util import Figures, markdown, scratch_env, summarize

REPO = Path(__file__).resolve().parents[1]
DONE = re.compile(r"^\[longhaul (?P<clock>[\d:]+)\] (?P<what>.+?): done in (?P<s>[\d.]+)s$")
TARGETS = {"cold_first_verdict_s": 480.0}
PHASES = (  # progress-line prefixes worth a row, in the order a cold run meets them
    ("resolving Go modules for Kubernetes", "go_modules_kubernetes_s"),
    ("building kube-apiserver", "build_kube_apiserver_s"),
    ("building kube-controller-manager", "build_kube_controller_manager_s"),
    ("building kube-scheduler", "build_kube_scheduler_s"),
    ("building kubelet", "build_kubelet_s"),
    ("building etcd", "build_etcd_s"),
    ("debootstrap", "runner_rootfs_s"),
    ("building runner image", "runner_image_s"),
    ("building the pause", "pause_image_s"),
)


def phase_figures(output: str) -> Figures:
    figures: Figures = {}
    for line in output.splitlines():
        match = DONE.match(line.strip())
        if not match:
            continue
        for prefix, name in PHASES:
            if match["what"].startswith(prefix) and name not in figures:
                figures[name] = summarize([float(match["s"])])
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cold", description=__doc__)
    parser.add_argument("--scenario", default="missing-file-fails-fast-absent")
    parser.add_argument("--keep-go-modules", action="store_true", help="reuse the Go module cache")
    args = parser.parse_args(argv)
    caches = ["LONGHAUL_CACHE", "GOCACHE"] + ([] if args.keep_go_modules else ["GOMODCACHE"])
    argv_ = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-o", "testpaths=e2e", "-s"]
    argv_ += ["-m", "e2e", "--cluster", "local", "-k", args.scenario, "e2e"]
    with scratch_env(*caches, prefix="longhaul-bench-cold-"):
        start = time.perf_counter()
        done = subprocess.run(argv_, cwd=REPO, capture_output=True, text=True)
        total = time.perf_counter() - start
        if not args.keep_go_modules:  # the module cache is read-only by design: let the scratch go
            subprocess.run(["go", "clean", "-modcache"], capture_output=True)
    figures = phase_figures(done.stdout + done.stderr)
    figures["cold_first_verdict_s"] = summarize([total])
    tail = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
    print(f"{args.scenario}: {tail}")
    print(markdown(figures, TARGETS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
