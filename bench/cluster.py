"""Benchmarks of the local cluster (issues 3 and 4): ``python -m bench.cluster [--quick] [--json FILE]``.

What the figures are for: every cluster-tier test and e2e scenario pays for
``up`` and ``down``, and a scenario's rotation timing must leave room for
the kubelet's Secret propagation.  Caches are made warm first, so the ``up``
figures are what a developer pays on every run, not once per machine.

* binaries: whether each is cached, and its build time as recorded by the
  last build (``<bin>.build-seconds``; the Go build cache may have been warm
  then); ``--cold-build`` rebuilds all into an empty cache and Go build cache
  (about 6.5 min on 2 cores; bench.cold times a whole cold start);
* up_api_healthy_s / up_control_plane_s / up_node_ready_s / up_services_ready_s:
  ``LocalProvider.up`` to kube-apiserver ``/readyz`` / scheduler healthy / node
  Ready / a ClusterIP and cluster DNS answering (the end of ``up``), timed by
  the provider's ``on_ready`` hook; down_s: ``down`` to nothing left (the last
  run's ``down`` also removes the workload's pods);
* runner_build_*: runner image build (``bench.images``; cold only with
  ``--cold-image``, in an empty cache), image_load_s: import into the node;
* pod_to_running_s: pod create call to phase Running (sequential pods);
* secret_propagation_s: Secret patch call to the first line a watcher pod
  prints with the new file content; the pod prints ``time.time()`` every
  0.1 s on the same machine clock, so samples carry up to 0.1 s of sampling.

Prints Markdown tables with the issues' targets (OK/OVER, never a failure);
``--json FILE`` also writes the figures.  Every cluster is removed at the end,
also on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from bench._util import Figures, markdown, scratch_env, summarize, timed, write_json
from bench._workload import NodeWorkload
from bench.images import bench_builds
from longhaul.fixtures.cluster import DEFAULT_K8S_VERSION, ClusterSpec
from longhaul.fixtures.cluster.local.cluster import LocalCluster, LocalProvider, ensure_local_binaries
from longhaul.fixtures.cluster.local.hostdeps import node_tools_unavailable_reason
from longhaul.fixtures.gobuild import kubernetes as kbuild
from longhaul.fixtures.images.runner import build_pause_image, build_runner_image
from longhaul.fixtures.util.cache import cache_root
from longhaul.fixtures.util.progress import phase, say

TARGETS = {"up_api_healthy_s": 10.0, "up_node_ready_s": 20.0, "pod_to_running_s": 5.0}
UP_FIGURES = {
    "kube-apiserver": "up_api_healthy_s",
    "kube-scheduler": "up_control_plane_s",
    "node": "up_node_ready_s",
    "services": "up_services_ready_s",
}


def binaries(version: str) -> dict[str, dict[str, object]]:
    """Per binary: cached now?, and the build time its last build recorded (and when)."""
    out: dict[str, dict[str, object]] = {}
    for name in (*kbuild.KUBE_COMPONENTS, *kbuild.LOCAL_EXTRA_COMPONENTS, "etcd"):
        binary = cache_root() / "bin" / version / name
        record = binary.with_name(f"{name}.build-seconds")
        seconds = float(record.read_text()) if record.exists() else None
        when = datetime.datetime.fromtimestamp(record.stat().st_mtime) if record.exists() else None
        out[name] = {"cached": binary.exists(), "build_s": seconds, "built_at": when and f"{when:%F %R}"}
    return out


def cold_build(version: str) -> dict[str, dict[str, object]]:
    """Every binary built into an empty cache with an empty Go build cache (modules stay cached)."""
    with scratch_env("LONGHAUL_CACHE", "GOCACHE", prefix="longhaul-cold-build-"):
        total = timed(lambda: kbuild.ensure_binaries(version, extra=kbuild.LOCAL_EXTRA_COMPONENTS))
        found = binaries(version)
    return {**found, "total (incl. module resolution)": {"cached": False, "build_s": total, "built_at": None}}


def binaries_table(rows: dict[str, dict[str, object]]) -> str:
    lines = ["| binary | cached now | build s (recorded) | built at |", "| --- | --- | ---: | --- |"]
    for name, row in rows.items():
        seconds = "-" if row["build_s"] is None else f"{row['build_s']:.1f}"
        lines.append(
            f"| {name} | {'yes' if row['cached'] else 'no'} | {seconds} | {row['built_at'] or '-'} |"
        )
    return "\n".join(lines)


def bench_workload(cluster: LocalCluster, pods: int, updates: int) -> Figures:
    """Pod start and Secret propagation figures on a cluster that is up."""
    image = build_runner_image()
    load_s = timed(lambda: cluster.load_image(image))
    workload = NodeWorkload(cluster.kubeconfig, image.ref)
    with phase(f"bench: {pods} pods, create to Running"):
        running = [workload.pod_to_running() for _ in range(pods)]
    sync = cluster.record.sync_frequency_seconds
    propagation = []
    with phase(f"bench: {updates} Secret updates, patch to file changed in the container"):
        for _ in range(updates):
            time.sleep(random.uniform(0, sync))  # a random phase against the kubelet's sync loop
            propagation.append(workload.secret_propagation(timeout=4 * sync + 30))
    return {
        "image_load_s": summarize([load_s]),
        "pod_to_running_s": summarize(running),
        "secret_propagation_s": summarize(propagation),
    }


def up_and_down(args: argparse.Namespace, name: str, workload: bool) -> tuple[dict[str, float], Figures]:
    """One timed ``up`` (milestones from the provider's hook), the workload if asked, one timed ``down``."""
    start = time.perf_counter()
    marks: dict[str, float] = {}

    def on_ready(component: str) -> None:
        marks[component] = time.perf_counter() - start

    provider = LocalProvider(on_ready=on_ready)
    spec = ClusterSpec(
        name=name,
        k8s_version=args.k8s_version,
        owner_pid=os.getpid(),  # a killed benchmark's cluster is cleaned by the next `up`
        sync_frequency_seconds=args.sync_frequency,
    )
    figures: Figures = {}
    try:
        with phase(f"bench: warm up of {name}"):
            cluster = provider.up(spec)
        if workload:
            figures = bench_workload(cluster, args.pods, args.updates)
    finally:
        with phase(f"bench: down {name}"):
            down_s = timed(lambda: provider.down(name))
    return {**{figure: marks[c] for c, figure in UP_FIGURES.items()}, "down_s": down_s}, figures


def bench_clusters(args: argparse.Namespace) -> Figures:
    runs = [up_and_down(args, f"bench-{os.getpid()}-{i}", i == args.runs - 1) for i in range(args.runs)]
    timings = {name: summarize([t[name] for t, _ in runs]) for name in runs[0][0]}
    return {**timings, **runs[-1][1]}


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the `finally` that tears clusters down


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.cluster", description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="one up/down, 5 pods, 10 updates")
    p.add_argument("--runs", type=int, help="up/down repetitions (default 3, --quick 1)")
    p.add_argument("--k8s-version", default=DEFAULT_K8S_VERSION)
    p.add_argument("--sync-frequency", type=float, default=ClusterSpec().sync_frequency_seconds)
    p.add_argument("--cold-build", action="store_true", help="also rebuild every binary from empty caches")
    p.add_argument(
        "--cold-image", action="store_true", help="also build the runner image from an empty cache"
    )
    p.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = p.parse_args(argv)
    args.runs = args.runs or (1 if args.quick else 3)
    args.pods, args.updates = (5, 10) if args.quick else (10, 20)
    reason = LocalProvider().unavailable_reason() or node_tools_unavailable_reason()
    if reason:
        print(f"bench.cluster cannot run here: {reason}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    started = time.monotonic()
    version = kbuild.normalize_version(args.k8s_version)
    bins = binaries(version)
    cold = cold_build(version) if args.cold_build else {}
    with phase("bench: warming the binary and image caches"):
        ensure_local_binaries(version)
        build_pause_image()
        figures = bench_builds(1 if args.quick else 3, cold=args.cold_image)
    try:
        figures.update(bench_clusters(args))
    except KeyboardInterrupt:
        say("bench.cluster: interrupted; every cluster it made has been torn down")
        return 130
    targets = {**TARGETS, "secret_propagation_s": 2 * args.sync_frequency}
    print(f"## Binaries ({version}, {cache_root() / 'bin' / version})\n\n{binaries_table(bins)}")
    if cold:
        print(f"\n### Cold build (empty LONGHAUL_CACHE and GOCACHE)\n\n{binaries_table(cold)}")
    print(
        f"\n## Cluster (syncFrequency {args.sync_frequency:g} s; targets on p95, the max for ≤ 10 "
        f"samples)\n\n{markdown(figures, targets)}"
    )
    print(f"\n(total {time.monotonic() - started:.1f}s)")
    say("bench.cluster: done")
    if args.json:
        write_json(args.json, {"binaries": bins, "cold_build": cold, "figures": figures, "targets": targets})
    return 0


if __name__ == "__main__":
    sys.exit(main())
