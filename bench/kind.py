"""The kind provider beside the local one: ``python -m bench.kind [--no-cold] [--json FILE]``.

What a kind run costs on a machine without Docker or a registry, measured in
one run next to the local provider's ``up`` (same load on the machine):

* node_image_cold_s: the offline node image built into an empty image store
  (both debootstraps, component images, preload, assembly; the Kubernetes
  and CoreDNS binaries come from longhaul's cache -- their build times are in
  ``bench.cluster``'s table); node_image_cached_s: the same call again;
* dockerd_start_s: longhaul's own engine from nothing to ``docker info``
  (only when no engine answers here);
* docker_load_s: the node image into an engine that does not have it;
* kind_create_to_ready_s: ``kind create cluster`` to the node Ready;
  kind_down_s: ``down`` (cluster, then our engine and its host traces);
* local_up_node_ready_s / local_down_s: ``LocalProvider`` on the same machine.

Prints a Markdown table (figures only, never a failure).  Everything it
starts is removed at the end, also on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

from bench._util import Figures, markdown, summarize, timed, write_json
from bench.cluster import up_and_down
from longhaul.fixtures.cluster import DEFAULT_K8S_VERSION, ClusterSpec
from longhaul.fixtures.cluster.kind import dockerd
from longhaul.fixtures.cluster.kind.engine import engine_unavailable_reason, ensure_engine
from longhaul.fixtures.cluster.kind.nodeimage import ensure_offline_image
from longhaul.fixtures.cluster.kind.provider import KindProvider
from longhaul.fixtures.images.kindnode.build import build_node_image
from longhaul.fixtures.images.oci import BlobStore
from longhaul.fixtures.util.mounts import remove_tree
from longhaul.fixtures.util.progress import phase, say


def _one(value: float) -> dict[str, float]:
    return summarize([value])


def bench_node_image(version: str, cold: bool) -> Figures:
    figures: Figures = {}
    if cold:
        scratch = Path(tempfile.mkdtemp(prefix="longhaul-cold-images-"))
        try:
            with phase("bench: node image into an empty image store"):
                figures["node_image_cold_s"] = _one(
                    timed(lambda: build_node_image(version, store=BlobStore(scratch)))
                )
        finally:
            remove_tree(scratch)
    build_node_image(version)  # the real store is warm from here on
    figures["node_image_cached_s"] = _one(timed(lambda: build_node_image(version)))
    return figures


def bench_kind(version: str, sync: float) -> Figures:
    figures: Figures = {}
    if engine_unavailable_reason() is not None:
        figures["dockerd_start_s"] = _one(timed(ensure_engine))
    ensure_engine()
    ref = build_node_image(version).ref
    subprocess.run(["docker", "image", "rm", "-f", ref], capture_output=True)
    figures["docker_load_s"] = _one(timed(lambda: ensure_offline_image(version)))
    provider = KindProvider()
    name = f"bench-kind-{os.getpid()}"
    try:
        handle = provider.up(ClusterSpec(name=name, k8s_version=version, sync_frequency_seconds=sync))
        figures["kind_create_to_ready_s"] = _one(handle.create_to_ready_s)
    finally:
        figures["kind_down_s"] = _one(timed(lambda: provider.down(name)))
    return figures


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the `finally` blocks that tear clusters down


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.kind", description=(__doc__ or "").split("\n\n")[0])
    p.add_argument("--k8s-version", default=DEFAULT_K8S_VERSION)
    p.add_argument("--sync-frequency", type=float, default=ClusterSpec().sync_frequency_seconds)
    p.add_argument("--no-cold", action="store_true", help="skip the node image build into an empty store")
    p.add_argument("--no-local", action="store_true", help="skip the local provider's up/down")
    p.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = p.parse_args(argv)
    reason = KindProvider().unavailable_reason()
    if reason:
        print(f"bench.kind cannot run here: {reason}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, _terminate)
    started = time.monotonic()
    our_engine = engine_unavailable_reason() is not None  # no engine answers: the bench starts ours
    try:
        figures = bench_node_image(args.k8s_version, cold=not args.no_cold)
        figures.update(bench_kind(args.k8s_version, args.sync_frequency))
        if not args.no_local:
            up, _ = up_and_down(args, f"bench-local-{os.getpid()}", workload=False)
            figures["local_up_node_ready_s"] = _one(up["up_node_ready_s"])
            figures["local_down_s"] = _one(up["down_s"])
    except KeyboardInterrupt:
        say("bench.kind: interrupted; every cluster and engine it started has been removed")
        return 130
    finally:
        if our_engine:
            dockerd.stop()  # no-op when the kind `down` already stopped it
    print(f"## kind (offline node image) beside local, Kubernetes {args.k8s_version}\n\n{markdown(figures)}")
    print(f"\n(total {time.monotonic() - started:.1f}s)")
    if args.json:
        write_json(args.json, {"figures": figures})
    return 0


if __name__ == "__main__":
    sys.exit(main())
