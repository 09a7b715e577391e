"""What every benchmark shares: sample summaries, a timer, a cold cache, and the printed table.

Benchmarks print figures and never fail on timing; a target is shown beside
its figure as OK or OVER so a regression is visible without turning a slow
machine into a red build.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from longhaul.fixtures.util.mounts import remove_tree

Figures = dict[str, dict[str, float]]


def summarize(samples: list[float]) -> dict[str, float]:
    """n, min, p50, p95 and max; p95 is the nearest rank, so with 10 samples or fewer it is the max."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "min": ordered[0],
        "p50": statistics.median(ordered),
        "p95": p95,
        "max": ordered[-1],
    }


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


@contextmanager
def scratch_env(*names: str, prefix: str = "longhaul-cold-") -> Iterator[Path]:
    """Point each environment variable in ``names`` at a fresh empty directory, so a build is truly cold.

    ``scratch_env("LONGHAUL_CACHE")`` is an empty longhaul cache; add ``"GOCACHE"`` for an empty
    Go build cache too.  Everything is restored and removed afterwards.
    """
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    old = {name: os.environ.get(name) for name in names}
    for name in names:
        os.environ[name] = str(tmp / name.lower())
    try:
        yield tmp
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        remove_tree(tmp)


def markdown(figures: Figures, targets: Mapping[str, float] | None = None) -> str:
    """The figures as a Markdown table; ``targets`` maps a figure to the limit its p95 should meet."""
    targets = targets or {}
    lines = [
        "| figure | n | min | p50 | p95 | max | target (p95 ≤) | |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, f in figures.items():
        limit = targets.get(name)
        verdict = "" if limit is None else ("OK" if f["p95"] <= limit else "OVER")
        lines.append(
            f"| {name} | {f['n']:.0f} | {f.get('min', f['p50']):.3f} | {f['p50']:.3f} | {f['p95']:.3f} "
            f"| {f['max']:.3f} | {'' if limit is None else f'{limit:g}'} | {verdict} |"
        )
    return "\n".join(lines)


def write_json(path: Path, doc: object) -> None:
    path.write_text(json.dumps(doc, indent=2) + "\n")
