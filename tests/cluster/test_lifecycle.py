"""Issue 3's proof: `up` is idempotent, `down` leaves nothing, a crashed harness is cleaned up.

These start their own small clusters beside the session's (distinct names,
ports and directories), which also shows two clusters coexist.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from longhaul.fixtures.cluster import Cluster
from longhaul.fixtures.cluster.local.cluster import LocalProvider, cluster_leftovers
from longhaul.fixtures.cluster.local.layout import ClusterRecord, Layout
from longhaul.fixtures.util.procs import pids_mentioning
from longhaul.fixtures.util.waiting import wait_for

pytestmark = pytest.mark.cluster
REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "longhaul.fixtures.cluster", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _nothing_left(record: ClusterRecord) -> list[str]:
    return cluster_leftovers(record)


def test_cli_up_is_idempotent_and_down_leaves_nothing(cluster: Cluster) -> None:
    name = f"lc-{uuid.uuid4().hex[:6]}"
    try:
        first = _cli("up", "--name", name, "--k8s-version", cluster.k8s_version)
        assert first.returncode == 0, first.stderr[-3000:]
        kubeconfig = first.stdout.strip().splitlines()[-1]
        assert Path(kubeconfig).is_file()
        record = ClusterRecord.load(name)
        assert record is not None and record.owner_pid is None  # CLI clusters are kept until `down`
        assert cluster_leftovers(record) != []  # the check below can see a running cluster
        assert record.ports["apiserver"] != ClusterRecord.load(cluster.name).ports["apiserver"]  # type: ignore[union-attr]
        apiserver_pid = Path(Layout(name).pidfile("kube-apiserver")).read_text()

        second = _cli("up", "--name", name, "--k8s-version", cluster.k8s_version)
        assert second.returncode == 0, second.stderr[-3000:]
        assert second.stdout.strip().splitlines()[-1] == kubeconfig
        assert "reusing" in second.stderr
        assert Path(Layout(name).pidfile("kube-apiserver")).read_text() == apiserver_pid

        assert "running" in _cli("status", "--name", name).stdout
    finally:
        down = _cli("down", "--name", name)
    assert down.returncode == 0, down.stderr[-3000:]
    assert _nothing_left(record) == []
    assert "absent" in _cli("status", "--name", name).stdout


def test_a_killed_harness_cluster_is_removed_by_the_next_up(cluster: Cluster) -> None:
    name = f"lk-{uuid.uuid4().hex[:6]}"
    harness = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import os, sys; from longhaul.fixtures.cluster.local.cluster import LocalProvider;"
            "from longhaul.fixtures.cluster import ClusterSpec;"
            f"LocalProvider().up(ClusterSpec(name={name!r}, k8s_version={cluster.k8s_version!r},"
            " owner_pid=os.getpid())); print('UP', flush=True); sys.stdin.read()",
        ],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert harness.stdout is not None
        line = harness.stdout.readline()
        assert line.strip() == "UP", harness.stderr.read() if harness.stderr else ""
        assert pids_mentioning(Layout(name).root), "the orphan-to-be should be running"
        record = ClusterRecord.load(name)
        assert record is not None and record.owner_pid == harness.pid
        os.kill(harness.pid, signal.SIGKILL)  # the harness dies without any teardown
        harness.wait(timeout=10)
        assert pids_mentioning(Layout(name).root), "killing the harness must not have stopped the cluster"

        cleaned = LocalProvider().clean_stale()  # what every `up` does first
        assert name in cleaned
        wait_for(
            f"nothing left of {name}", lambda: _nothing_left(record), lambda left: left == [], timeout=30
        )
    finally:
        if harness.poll() is None:
            harness.kill()
        LocalProvider().down(name)
