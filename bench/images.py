"""Benchmarks of the node's image and runtime plumbing: ``python -m bench.images``.

What the figures are for: ``up`` to node Ready has a 20 s budget with warm
caches, so the runner image must come from the cache in well under a second,
containerd must start in about one, and a runner code change must not cost a
debootstrap.  A cold build is what a fresh CI machine pays once.

Measured on this machine, with real debootstrap, pip, containerd and runc:

* runner_build_cold_s: empty cache to runner image (debootstrap + pip + code);
  in a throw-away ``$LONGHAUL_CACHE``; skipped with ``--quick``;
* runner_build_warm_s: the same recipe again (a cache hit);
* runner_build_code_change_s: a recipe whose code changed (code layer only);
* containerd_start_s / containerd_stop_s: start to socket answering / stop to clean;
* image_import_s: pause + runner images into a fresh containerd;
* container_run_s: ``ctr run --rm`` of ``python3 -c pass`` in the runner image.

Prints a Markdown table; ``--json FILE`` also writes the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from fixtures.cluster.local.containerd import Containerd
from fixtures.cluster.local.containerd_cleanup import leftovers
from fixtures.cluster.local.hostdeps import node_tools_unavailable_reason
from fixtures.cluster.local.images import NodeImages, RunnerImageRecipe, build_node_images, build_runner_image
from fixtures.cluster.local.mounts import remove_tree

Figures = dict[str, dict[str, float]]


def summarize(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"n": len(ordered), "p50": statistics.median(ordered), "p95": p95, "max": ordered[-1]}


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


@contextmanager
def scratch_cache() -> Iterator[Path]:
    """A throw-away ``$LONGHAUL_CACHE``, so a build is truly cold."""
    old = os.environ.get("LONGHAUL_CACHE")
    tmp = Path(tempfile.mkdtemp(prefix="longhaul-cold-cache-"))
    os.environ["LONGHAUL_CACHE"] = str(tmp)
    try:
        yield tmp
    finally:
        if old is None:
            os.environ.pop("LONGHAUL_CACHE", None)
        else:
            os.environ["LONGHAUL_CACHE"] = old
        remove_tree(tmp)


def bench_builds(n: int, cold: bool) -> Figures:
    figures: Figures = {}
    if cold:
        with scratch_cache():
            seconds = timed(build_runner_image)
        figures["runner_build_cold_s"] = summarize([seconds])
    build_runner_image()  # make sure the real cache is warm
    warm = []
    for _ in range(n):
        start = time.perf_counter()
        assert build_runner_image().cache_hit
        warm.append(time.perf_counter() - start)
    figures["runner_build_warm_s"] = summarize(warm)
    changed = []
    with tempfile.TemporaryDirectory(prefix="longhaul-code-") as tmp:
        code = Path(tmp) / "bench_runner"
        code.mkdir()
        entrypoint = ("python3", "-m", "bench_runner")
        recipe = RunnerImageRecipe(code_dirs=(code,), entrypoint=entrypoint, name="bench")
        for _ in range(n):
            (code / "__init__.py").write_text(f"BUILD = {uuid.uuid4().hex!r}\n")
            start = time.perf_counter()
            assert build_runner_image(recipe).built_layers == ("code",)
            changed.append(time.perf_counter() - start)
    figures["runner_build_code_change_s"] = summarize(changed)
    return figures


def _one_containerd(base: Path, images: NodeImages) -> dict[str, float]:
    ctd = Containerd(base, sandbox_image=images.pause.ref)
    probe, built = ["python3", "-c", "pass"], images.all
    figures: dict[str, float] = {}
    try:
        figures["containerd_start_s"] = timed(ctd.start)
        figures["image_import_s"] = timed(lambda: [ctd.import_image(images.store, b.image) for b in built])
        assert ctd.run(images.runner.ref, probe, name="warm").returncode == 0  # page cache, shim binary
        figures["container_run_s"] = timed(lambda: ctd.run(images.runner.ref, probe, name="bench"))
    finally:
        figures["containerd_stop_s"] = timed(ctd.stop)
    left = leftovers(base)
    assert not left, left
    remove_tree(base)
    return figures


def bench_runtime(n: int) -> Figures:
    images = build_node_images()
    with tempfile.TemporaryDirectory(prefix="longhaul-ctd-") as tmp:
        samples = [_one_containerd(Path(tmp) / f"c{i}", images) for i in range(n)]
    return {name: summarize([s[name] for s in samples]) for name in samples[0]}


def markdown(figures: Figures) -> str:
    lines = ["| figure | n | p50 | p95 | max |", "| --- | ---: | ---: | ---: | ---: |"]
    for name, f in figures.items():
        lines.append(f"| {name} | {f['n']:.0f} | {f['p50']:.3f} | {f['p95']:.3f} | {f['max']:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.images", description=__doc__.split("\n\n")[0] if __doc__ else "")
    p.add_argument("--quick", action="store_true", help="fewer samples and no cold build (a smoke run)")
    p.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = p.parse_args(argv)
    reason = node_tools_unavailable_reason()
    if reason:
        print(f"bench.images cannot run here: {reason}", file=sys.stderr)
        return 2
    started = time.monotonic()
    n = 3 if args.quick else 10
    figures = {**bench_builds(n, cold=not args.quick), **bench_runtime(max(2, n // 2))}
    print(markdown(figures))
    print(f"\n(total {time.monotonic() - started:.1f}s)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
