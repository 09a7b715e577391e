"""The fast tier on one pinned release of each Kubernetes minor, on the local provider: a table.

``python -m bench.matrix [--versions v1.32.11,v1.33.13,v1.34.4,v1.35.4] [--json FILE] [-- PYTEST_ARGS]``
(also ``tox -e matrix``).  For each version: build it from Go modules (cached by version: minutes
cold, nothing warm), bring a local cluster of it up, read the version its node really runs (the
kubelet's own report, not the one asked for), run the whole fast tier on it, take it down.  Prints
one row per version: node version, passed / failed / errors / skipped, tier wall time, and the
scenarios that did not pass.  v1.35+ runs with ``failCgroupV1: false`` on cgroup v1 hosts like this
one (the local kubelet config does it).  Exit 1 if any version's tier did not pass completely, so
``tox -e matrix`` is a real check, not only figures.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench._util import write_json
from longhaul.fixtures.util.progress import phase, say

REPO = Path(__file__).resolve().parents[1]
# One pinned release of each minor. v1.32.13 cannot be built here: the module proxy serves no
# k8s.io/endpointslice v0.32.13 (403), and v1.32.12 is not served at all.
VERSIONS = ("v1.32.11", "v1.33.13", "v1.34.4", "v1.35.4")


@dataclass
class Cell:
    """One version's outcome."""

    version: str
    node_version: str = "?"
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    wall_s: float = 0.0
    build_s: float = 0.0
    not_passed: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def green(self) -> bool:
        return self.passed > 0 and not (self.failed or self.errors or self.note)


def node_version(kubeconfig: str) -> str:
    """What the node's kubelet says it runs (status.nodeInfo.kubeletVersion)."""
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=kubeconfig)
    nodes = client.CoreV1Api(api).list_node(_request_timeout=10).items
    return ", ".join(sorted({str(n.status.node_info.kubelet_version) for n in nodes})) or "?"


def read_junit(path: Path, cell: Cell) -> None:
    if not path.exists():
        cell.note = "no JUnit report: the run did not get to its tests"
        return
    for case in ET.parse(path).getroot().iter("testcase"):
        name = case.get("name", "?")
        if case.find("skipped") is not None:
            cell.skipped += 1
        elif case.find("failure") is not None:
            cell.failed += 1
            cell.not_passed.append(f"{name}: failed")
        elif case.find("error") is not None:
            cell.errors += 1
            cell.not_passed.append(f"{name}: error")
        else:
            cell.passed += 1


def run_version(version: str, workdir: Path, extra: list[str]) -> Cell:
    cell = Cell(version)
    cli = [sys.executable, "-m", "longhaul.fixtures.cluster"]
    name = f"matrix-{version.replace('.', '-')}"
    start = time.perf_counter()
    with phase(f"{version}: build (cached by version)"):
        build = subprocess.run(
            [*cli, "build", "--k8s-version", version], cwd=REPO, capture_output=True, text=True
        )
    cell.build_s = time.perf_counter() - start
    if build.returncode != 0:
        cell.note = f"build failed: {(build.stderr.strip().splitlines() or ['?'])[-1]}"
        return cell
    with phase(f"{version}: cluster up"):
        up = subprocess.run(
            [*cli, "up", "--name", name, "--k8s-version", version], cwd=REPO, capture_output=True, text=True
        )
    if up.returncode != 0:
        cell.note = f"up failed: {(up.stderr.strip().splitlines() or ['?'])[-1]}"
        return cell
    try:
        cell.node_version = node_version(up.stdout.strip().splitlines()[-1])
        junit = workdir / f"{name}.xml"
        argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:hypothesispytest"]
        argv += ["-o", "testpaths=e2e", "-m", "e2e and not soak", "-n", "auto", "--dist", "worksteal"]
        argv += ["--cluster", "local", "--k8s-version", version, "--reuse-cluster", name]
        argv += ["--junitxml", str(junit), "--artifacts-dir", str(workdir / name), "-q", *extra]
        with phase(f"{version}: fast tier"):
            start = time.perf_counter()
            subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
            cell.wall_s = time.perf_counter() - start
        read_junit(junit, cell)
    finally:
        subprocess.run([*cli, "down", "--name", name], cwd=REPO, capture_output=True)
    say(f"{version}: {cell.passed} passed, {cell.failed} failed, {cell.errors} errors in {cell.wall_s:.0f}s")
    return cell


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.matrix", description=__doc__)
    parser.add_argument("--versions", default=",".join(VERSIONS))
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("pytest_args", nargs="*", help="after --: passed to every pytest run")
    args = parser.parse_args(argv)
    cells = []
    with tempfile.TemporaryDirectory(prefix="longhaul-matrix-") as tmp:
        for version in [v.strip() for v in args.versions.split(",") if v.strip()]:
            cells.append(run_version(version, Path(tmp), args.pytest_args))
    print("\n| requested | node runs | passed | failed | errors | skipped | tier wall s | build s | |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for c in cells:
        verdict = "OK" if c.green else (c.note or "; ".join(c.not_passed))
        print(
            f"| {c.version} | {c.node_version} | {c.passed} | {c.failed} | {c.errors} | {c.skipped} "
            f"| {c.wall_s:.0f} | {c.build_s:.0f} | {verdict} |"
        )
    if args.json:
        write_json(args.json, [asdict(c) for c in cells])
    return 0 if cells and all(c.green for c in cells) else 1


if __name__ == "__main__":
    sys.exit(main())
