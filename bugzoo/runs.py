"""One pytest run of the fast tier (or some of its scenarios), read back from its JUnit XML.

The driver never parses pytest's terminal output for results: the JUnit file
says per scenario whether it passed, failed (an expectation did not hold:
the variant was caught) or errored (the harness itself broke, which must not
count as a kill).  The terminal output goes to a log file, and its progress
lines (``[longhaul] ...``) are echoed so a person sees the run move.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from longhaul.fixtures.engine.launch import code_root
from longhaul.scenarios.catalog import FAST_TIER
from longhaul.tokens import JWT_SHAPED, fingerprint

TEST_FILE = "e2e/test_scenarios.py"
SCENARIO_TEST = "test_scenario"
HARNESS_ERROR = "longhaul harness error"  # e2e/test_scenarios.py: a scenario that judged nothing
ECHOED = re.compile(r"^\[longhaul\] |^(FAILED|ERROR) |^=+ .*(passed|failed|error).* =+$")
SCENARIO_ID = re.compile(r"\[(?P<scenario>[^\]]+)\]$")
# A failed expectation's label in the scenario's assertion message, as the JUnit
# report prints it: "E         - <label>:" on a line of its own.
FAILED_EXPECTATION = re.compile(r"^E?\s*- (?P<label>[^\n:]+):\s*$", re.M)
JWT = re.compile(JWT_SHAPED.pattern.encode())


def redact_tokens(root: Path) -> int:
    """Replace JWT-shaped strings under ``root`` by their fingerprints; how many files changed.

    The zoo deliberately runs a runner that logs its token, and that run's bundle
    keeps the runner log as evidence.  The scenario's leak scan has already
    recorded the finding by fingerprint; this keeps the live value itself out of
    the results a CI job uploads.
    """
    changed = 0
    for path in (p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        clean = JWT.sub(lambda m: f"<token:{fingerprint(m.group())}>".encode(), data)
        if clean != data:
            path.write_bytes(clean)
            changed += 1
    return changed


def node_id(scenario: str) -> str:
    return f"{TEST_FILE}::{SCENARIO_TEST}[{scenario}]"


@dataclass
class RunResult:
    passed: list[str] = field(default_factory=list)
    failed: dict[str, list[str]] = field(default_factory=dict)  # scenario -> expectations that failed
    errors: dict[str, str] = field(default_factory=dict)  # scenario -> first line of the error
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    exit_code: int = 0
    log: Path | None = None

    @property
    def ran(self) -> int:
        return len(self.passed) + len(self.failed) + len(self.errors)

    def merge(self, other: RunResult) -> RunResult:
        return RunResult(
            self.passed + other.passed,
            {**self.failed, **other.failed},
            {**self.errors, **other.errors},
            self.skipped + other.skipped,
            self.seconds + other.seconds,
            max(self.exit_code, other.exit_code),
            other.log or self.log,
        )


def read_junit(path: Path) -> RunResult:
    result = RunResult()
    if not path.exists():
        return result
    for case in ET.parse(path).getroot().iter("testcase"):
        match = SCENARIO_ID.search(case.get("name", ""))
        scenario = match["scenario"] if match else case.get("name", "?")
        failure, error, skipped = case.find("failure"), case.find("error"), case.find("skipped")
        if failure is not None and HARNESS_ERROR in (failure.get("message") or ""):
            result.errors[scenario] = _first_line(failure.get("message"))
        elif failure is not None:
            text = f"{failure.get('message') or ''}\n{failure.text or ''}"
            labels = list(dict.fromkeys(m["label"].strip() for m in FAILED_EXPECTATION.finditer(text)))
            result.failed[scenario] = labels or [_first_line(failure.get("message"))]
        elif error is not None:
            result.errors[scenario] = _first_line(error.get("message") or error.text)
        elif skipped is not None:
            result.skipped.append(scenario)
        else:
            result.passed.append(scenario)
    return result


def _first_line(text: str | None) -> str:
    return next((line.strip() for line in (text or "").splitlines() if line.strip()), "")[:200]


@dataclass(frozen=True)
class PytestRun:
    """The fast tier on a cluster made beforehand (``--reuse-cluster``), with these implementation options."""

    label: str
    provider: str
    cluster_name: str
    out: Path
    impl_options: Sequence[str] = ()
    extra: Sequence[str] = ()

    def argv(
        self, junit: Path, select: Sequence[str], deselect: Sequence[str], stop_early: bool
    ) -> list[str]:
        argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-s"]
        argv += ["-m", "e2e and not soak"]
        argv += ["--cluster", self.provider, "--reuse-cluster", self.cluster_name]
        argv += ["--junitxml", str(junit), "--artifacts-dir", str(self.out / "scenarios")]
        argv += [*self.impl_options, *self.extra]
        if stop_early:
            argv.append("--maxfail=1")
        # Scenarios side by side, as `tox -e e2e` does: one xdist worker each (a worker holding a
        # second scenario in reserve never hands it over), up to LONGHAUL_E2E_WORKERS if set.
        wanted = len(select) if select else len(FAST_TIER) - len(deselect)
        workers = min(wanted, int(os.environ.get("LONGHAUL_E2E_WORKERS", "32")))
        if workers > 1:
            argv += ["-n", str(workers), "--dist", "worksteal"]
        for nodeid in deselect:
            argv += ["--deselect", nodeid]
        return argv + (list(select) or ["e2e"])

    def run(
        self,
        part: str,
        select: Sequence[str] = (),
        deselect: Sequence[str] = (),
        *,
        stop_early: bool = False,
    ) -> RunResult:
        self.out.mkdir(parents=True, exist_ok=True)
        junit, log = self.out / f"junit-{part}.xml", self.out / f"pytest-{part}.log"
        junit.unlink(missing_ok=True)
        argv = self.argv(junit, [node_id(s) for s in select], [node_id(s) for s in deselect], stop_early)
        started = time.monotonic()
        with log.open("w") as sink:
            sink.write(" ".join(argv) + "\n")
            sink.flush()
            proc = subprocess.Popen(
                argv, cwd=code_root(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
            )
            assert proc.stdout is not None
            for line in proc.stdout:
                sink.write(line)
                if ECHOED.search(line.rstrip()):
                    print(f"    {self.label}: {line.rstrip()}", flush=True)
            code = proc.wait()
        result = read_junit(junit)
        result.seconds, result.exit_code, result.log = time.monotonic() - started, code, log
        if redacted := redact_tokens(self.out):
            print(f"    {self.label}: redacted token values in {redacted} result file(s)", flush=True)
        return result
