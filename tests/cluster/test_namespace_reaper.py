"""The start-up reaper deletes the namespaces dead harnesses of this machine left, and only those.

For what no registry remembers (the watchdog was killed too and its registry
removed, ``/var/tmp`` wiped): each scenario namespace's labels say which run
of which machine created it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from longhaul.fixtures.cluster import Cluster
from longhaul.fixtures.engine.harness_guard import HOST_LABEL, RUN_LABEL, host_label, run_id_of
from longhaul.fixtures.engine.watchdog import reap_stale_namespaces
from longhaul.fixtures.kube.clients import admin_client
from longhaul.fixtures.util.waiting import wait_for

pytestmark = pytest.mark.cluster


def _phase(core: client.CoreV1Api, name: str) -> str:
    try:
        return str(core.read_namespace(name).status.phase)
    except ApiException as exc:
        if exc.status == 404:
            return "gone"
        raise


def test_only_namespaces_of_dead_runs_on_this_host_are_reaped(cluster: Cluster) -> None:
    core = client.CoreV1Api(admin_client(cluster.kubeconfig))
    gone = subprocess.Popen(["true"])
    gone.wait()
    live = run_id_of(os.getpid())
    assert live is not None
    tag = uuid.uuid4().hex[:6]
    cases = {
        f"t-dead-{tag}": {RUN_LABEL: f"{gone.pid}-1", HOST_LABEL: host_label()},
        f"t-live-{tag}": {RUN_LABEL: live, HOST_LABEL: host_label()},
        f"t-elsewhere-{tag}": {RUN_LABEL: f"{gone.pid}-1", HOST_LABEL: "another-machine"},
    }
    for name, labels in cases.items():
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels)))
    try:
        reaped = reap_stale_namespaces(core)
        assert f"t-dead-{tag}" in reaped
        assert not {f"t-live-{tag}", f"t-elsewhere-{tag}"} & set(reaped)
        wait_for(
            "the dead run's namespace gone", lambda: _phase(core, f"t-dead-{tag}"), "gone".__eq__, timeout=120
        )
        assert _phase(core, f"t-live-{tag}") == "Active" and _phase(core, f"t-elsewhere-{tag}") == "Active"
    finally:
        for name in cases:
            with contextlib.suppress(ApiException):
                core.delete_namespace(name)
