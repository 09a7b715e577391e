"""A scenario's evidence as a file (``evidence.json``), so a report can be rebuilt from a bundle.

Why a file of its own: the run report and its timelines are drawn from the
evidence, and a person (or a test) with only an uploaded bundle should be able to
draw them again, or judge the same evidence with a changed expectation.  The
ledger stays in ``ledger.jsonl`` and the runner logs in ``runner-<pod>.log``
(both already in the bundle); this file holds the rest.  Token-free like the
evidence itself: fingerprints only, and the bundle's leak scan covers it.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Any

from longhaul.ledger import SessionLedger
from longhaul.scenarios.evidence import Evidence, FaultRecord, Rotation, RunnerRun

NAME = "evidence.json"
_SCALARS = ("scenario", "namespace", "session", "started", "ended", "end_reason", "leaks")
_OPTIONAL = ("requested_messages", "decided_at", "decided_by", "aborted")  # absent from older bundles


def evidence_to_dict(evidence: Evidence) -> dict[str, Any]:
    runs = [{k: v for k, v in asdict(r).items() if k != "log"} for r in evidence.runs]
    return {
        **{name: getattr(evidence, name) for name in (*_SCALARS, *_OPTIONAL)},
        "rotations": [asdict(r) for r in evidence.rotations],
        "runs": runs,
        "faults": [asdict(f) for f in evidence.faults],
    }


def write_evidence(evidence: Evidence, bundle: Path) -> Path:
    path = bundle / NAME
    path.write_text(json.dumps(evidence_to_dict(evidence), indent=1, default=str))
    return path


def read_evidence(bundle: Path) -> Evidence:
    """The evidence a bundle holds: ``evidence.json``, its ledger and its runner logs."""
    data = json.loads((bundle / NAME).read_text())
    evidence = Evidence(**{name: data[name] for name in _SCALARS})
    for name in _OPTIONAL:
        if name in data:
            setattr(evidence, name, data[name])
    evidence.rotations = [Rotation(**r) for r in data["rotations"]]
    evidence.faults = [FaultRecord(**f) for f in data["faults"]]
    evidence.runs = []
    for run in data["runs"]:
        log = bundle / f"runner-{run['pod']}.log"
        evidence.runs.append(RunnerRun(**run, log=log.read_text(errors="replace") if log.exists() else ""))
    ledger = bundle / "ledger.jsonl"
    if ledger.exists():
        evidence.ledger = SessionLedger.load(ledger).evidence(evidence.session)
    return evidence
