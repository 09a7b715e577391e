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
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench._util import Figures, markdown, scratch_env, summarize, timed, write_json
from longhaul.fixtures.cluster.local.containerd import Containerd
from longhaul.fixtures.cluster.local.containerd_cleanup import leftovers
from longhaul.fixtures.cluster.local.hostdeps import node_tools_unavailable_reason
from longhaul.fixtures.images.runner import (
    NodeImages,
    RunnerImageRecipe,
    build_node_images,
    build_runner_image,
)
from longhaul.fixtures.util.mounts import remove_tree


def bench_builds(n: int, cold: bool) -> Figures:
    figures: Figures = {}
    if cold:
        with scratch_env("LONGHAUL_CACHE"):
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
        write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
