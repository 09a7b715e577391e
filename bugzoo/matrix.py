"""The kill matrix: which expectations failed for which variant, and which kill one alone.

Why it exists: a variant counts as killed when any scenario failed, which says
nothing about the expectations themselves.  An expectation that never fails,
or fails only beside others, could be deleted without any variant surviving:
it is untested.  "Kills a variant alone" means it was the only expectation
that failed in a scenario that failed against that variant, so that
scenario's verdict rests on it.  After an early verdict the engine judges
only the deciding expectations, which keeps that attribution clean.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

ALONE, WITH_OTHERS = "■", "□"


@dataclass(frozen=True)
class Kills:
    """For one variant: scenario -> labels of the expectations that failed there."""

    variant: str
    failed: Mapping[str, Sequence[str]]

    def scenarios_failing(self, label: str) -> list[str]:
        return [s for s, labels in self.failed.items() if label in labels]

    def alone(self, label: str) -> list[str]:
        return [s for s, labels in self.failed.items() if list(labels) == [label]]


def expectation_labels(scenarios: Iterable[object]) -> list[str]:
    """Every expectation label of ``scenarios`` (objects with ``expect``), in first-use order."""
    labels: dict[str, None] = {}
    for scenario in scenarios:
        for expectation in getattr(scenario, "expect", ()):
            labels.setdefault(expectation.label)
    return list(labels)


def lonely(labels: Sequence[str], kills: Sequence[Kills]) -> list[str]:
    """The labels that killed no variant alone."""
    return [label for label in labels if not any(k.alone(label) for k in kills)]


def render(labels: Sequence[str], kills: Sequence[Kills]) -> str:
    """A Markdown matrix (expectations down, numbered variants across) with its legend."""
    failing_labels = {label for k in kills for labels in k.failed.values() for label in labels}
    rows = [*labels, *sorted(failing_labels - set(labels))]  # a label no scenario declares: say so
    numbers = range(1, len(kills) + 1)
    lines = [
        "| expectation | " + " | ".join(f"V{i}" for i in numbers) + " | kills alone |",
        "|---|" + "---|" * len(kills) + "---|",
    ]
    for label in rows:
        cells = []
        for k in kills:
            cells.append(ALONE if k.alone(label) else WITH_OTHERS if k.scenarios_failing(label) else "")
        alone = [f"V{i}" for i, k in zip(numbers, kills, strict=True) if k.alone(label)]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {', '.join(alone) or '**none**'} |")
    legend = [f"- V{i} `{k.variant}`: " + _where(k) for i, k in zip(numbers, kills, strict=True)]
    missing = lonely(labels, kills)
    verdict = (
        "Every expectation of the fast tier killed at least one variant alone."
        if not missing
        else "Expectations that killed no variant alone: " + ", ".join(f"`{m}`" for m in missing) + "."
    )
    key = f"{ALONE} the only expectation that failed in a scenario; {WITH_OTHERS} failed beside others."
    return "\n".join([*lines, "", key, "", *legend, "", verdict]) + "\n"


def _where(kills: Kills) -> str:
    if not kills.failed:
        return "no scenario failed"
    return "; ".join(f"{s}: {', '.join(labels)}" for s, labels in kills.failed.items())
