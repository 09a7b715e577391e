"""``--keep-failed-cluster``: a failing run hands its cluster to the user instead of deleting it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from longhaul.fixtures.cluster.local.cluster import LocalProvider
from longhaul.fixtures.cluster.local.layout import ClusterRecord

pytestmark = pytest.mark.cluster
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("outcome", ["failed", "passed"])
def test_the_cluster_survives_a_failing_run_and_only_a_failing_run(
    tmp_path: Path, cluster: object, outcome: str
) -> None:
    shutil.copy(REPO / "conftest.py", tmp_path / "conftest.py")  # loads the plugin unless installed
    body = "assert False" if outcome == "failed" else "pass"
    (tmp_path / "test_run.py").write_text(f"def test_uses_cluster(cluster):\n    {body}\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "LONGHAUL_PROGRESS": "1"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--cluster",
            "local",
            "--keep-failed-cluster",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = run.stdout + run.stderr
    assert f"1 {outcome}" in output, output[-3000:]
    names = re.findall(r"cluster (lh-\d+)", output)
    assert names, output[-3000:]
    name = names[0]
    record = ClusterRecord.load(name)
    try:
        if outcome == "failed":
            assert record is not None and record.owner_pid is None, "kept, no longer owned by the ended run"
            kept = LocalProvider().get(name)
            assert kept is not None and kept.healthy()
        else:
            assert record is None, f"a passing run must remove its cluster {name}"
    finally:
        LocalProvider().down(name)
