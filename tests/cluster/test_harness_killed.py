"""A harness killed mid-scenario (SIGKILL, SIGTERM) leaves no process, namespace or listening port.

A real pytest runs one scenario on this tier's cluster (``--reuse-cluster``, so
the cluster itself survives, as a kept or reused one must); once that
scenario's backend listens, the pytest process is killed.  Its watchdog
must then kill the backend and operator and delete the scenario namespace.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from longhaul.fixtures.cluster import Cluster
from longhaul.fixtures.engine.harness_guard import RUN_LABEL, run_id_of, runs_root
from longhaul.fixtures.kube.clients import admin_client
from longhaul.fixtures.util.procs import cmdline, pid_alive, pids_mentioning
from longhaul.fixtures.util.waiting import wait_for

pytestmark = pytest.mark.cluster
REPO = Path(__file__).resolve().parents[2]
SCENARIO = "long-session-survives-rotations"  # long enough to be killed in the middle of it
CLEAN_WITHIN_SECONDS = 120.0  # SIGTERM grace + SIGKILL per group, then the namespace controller


def _listening(port: int) -> bool:
    """A socket in LISTEN on ``port`` at any address (the backend binds only the pod-facing one)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                    return True
    return False


def _run_processes(artifacts: Path, namespaces: list[str]) -> list[str]:
    """Command lines of the run's components: the backend names the artifacts, the operator its namespace."""
    needles = [str(artifacts), *(f"--namespace {ns}" for ns in namespaces)]
    return [line for pid in pids_mentioning(Path("/")) if any(n in (line := cmdline(pid)) for n in needles)]


def _namespaces(core: client.CoreV1Api, run_id: str) -> list[str]:
    try:
        found = core.list_namespace(label_selector=f"{RUN_LABEL}={run_id}", _request_timeout=10).items
    except ApiException as exc:
        return [f"? ({exc.status})"]
    return [f"{ns.metadata.name} ({ns.status.phase})" for ns in found]


def _cluster_roles(rbac: client.RbacAuthorizationV1Api, run_id: str) -> list[str]:
    """ClusterRoles the run installed (the operator's): cluster-scoped, they outlive its namespace."""
    try:
        found = rbac.list_cluster_role(label_selector=f"{RUN_LABEL}={run_id}", _request_timeout=10).items
    except ApiException as exc:
        return [f"? ({exc.status})"]
    return [str(role.metadata.name) for role in found]


def _children(pid: int) -> list[int]:
    """Live direct children of ``pid`` (an xdist controller's workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError, IndexError, ValueError):
            if (
                entry.name.isdigit()
                and int((entry / "stat").read_text().rsplit(") ", 1)[1].split()[1]) == pid
            ):
                found.append(int(entry.name))
    return [c for c in found if pid_alive(c)]


@pytest.mark.parametrize(
    ("sig", "mode"),
    [
        (signal.SIGKILL, ["-p", "no:xdist"]),
        (signal.SIGTERM, ["-p", "no:xdist"]),
        (signal.SIGKILL, ["-n", "1"]),  # the xdist controller dies; its worker ran the scenario
    ],
    ids=["SIGKILL", "SIGTERM", "SIGKILL-xdist-controller"],
)
def test_a_killed_harness_leaves_nothing_behind(
    cluster: Cluster, runner_image: str, tmp_path: Path, sig: signal.Signals, mode: list[str]
) -> None:
    artifacts = tmp_path / "artifacts"
    argv = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        *mode,
        str(REPO / "e2e" / "test_scenarios.py"),
        "-k",
        SCENARIO,
        "--cluster",
        cluster.provider,
        "--reuse-cluster",
        cluster.name,
        "--runner-image",
        runner_image,  # already on the nodes: no build in the killed run
        "--artifacts-dir",
        str(artifacts),
    ]
    with open(tmp_path / "pytest.log", "wb") as out:
        harness = subprocess.Popen(
            argv, cwd=REPO, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        port_file = artifacts / SCENARIO / "backend.port"
        port = wait_for(
            "the scenario's backend to listen",
            lambda: port_file.read_text().strip() if port_file.exists() else "",
            lambda p: (bool(p) and _listening(int(p))) or harness.poll() is not None,
            timeout=300,
            describe=lambda p: f"port file {p!r}, pytest exit {harness.poll()}",
        )
        assert harness.poll() is None, (tmp_path / "pytest.log").read_text()[-3000:]
        workers = _children(harness.pid)  # the watchdog runs in a session of its own, not a child
        runner_pid = workers[0] if mode[0] == "-n" else harness.pid  # who started the components
        run_id = run_id_of(runner_pid)
        assert run_id is not None
        core = client.CoreV1Api(admin_client(cluster.kubeconfig))
        namespaces = [ns.split()[0] for ns in _namespaces(core, run_id)]
        assert namespaces, f"the scenario namespace carries {RUN_LABEL}={run_id}"
        rbac = client.RbacAuthorizationV1Api(core.api_client)
        assert wait_for(
            "the operator's ClusterRole, labelled with the run",
            lambda: _cluster_roles(rbac, run_id),
            timeout=60,
        ), "the run installs a ClusterRole for its operator"
        started = wait_for(
            "the backend and operator running",
            lambda: _run_processes(artifacts, namespaces),
            lambda lines: all(
                any(f"-m {c}" in line for line in lines) for c in ("backend_stub", "operator_stub")
            ),
            timeout=60,
        )
        killed_at = time.monotonic()
        harness.send_signal(sig)
        assert harness.wait(timeout=30) == -sig, "the harness died of the signal, running no teardown"

        def left() -> dict[str, object]:
            return {
                "processes": _run_processes(artifacts, namespaces),
                "namespaces": _namespaces(core, run_id),
                "cluster roles": _cluster_roles(rbac, run_id),
                "listening": _listening(int(port)),
                "registry": (runs_root() / run_id).exists(),
                "harness processes": [c for c in workers if pid_alive(c)],
            }

        remains = wait_for(
            "nothing of the killed run left",
            left,
            lambda found: not any(found.values()),
            timeout=CLEAN_WITHIN_SECONDS,
            describe=str,
        )
        print(f"{sig.name}: nothing left {time.monotonic() - killed_at:.1f}s after the kill")  # a figure, -rA
        assert remains == {
            "processes": [],
            "namespaces": [],
            "cluster roles": [],
            "listening": False,
            "registry": False,
            "harness processes": [],
        }
        assert started, "processes were there to be cleaned"
    finally:
        if harness.poll() is None:
            os.killpg(harness.pid, signal.SIGKILL)
            harness.wait(timeout=30)
