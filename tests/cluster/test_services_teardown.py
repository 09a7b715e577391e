"""kube-proxy's rules never touch the host's iptables; a crashed run's service router goes at the next start.

The local provider runs kube-proxy inside a network namespace of its own
(``fixtures/cluster/local/servicenet.py``): its KUBE-* chains must appear
there and nowhere on the host, and after the cluster is gone the host's
``iptables-save`` must hold nothing the cluster added (its two FORWARD
accepts and its nat exemption included), with the namespace and veth gone.  The cluster here is
owned by a harness that is then killed, as in a crash: the cleanup is
the one every ``up`` runs first (``clean_stale``).  Meanwhile the session's
cluster, with a router of its own, must keep answering: two clusters'
kube-proxies on one host do not disturb each other.
"""

from __future__ import annotations

import re
import subprocess
import uuid

import pytest

from longhaul.fixtures.cluster import Cluster, ClusterSpec
from longhaul.fixtures.cluster.local.cluster import LocalProvider, cluster_leftovers

pytestmark = pytest.mark.cluster


def _host_rules() -> set[str]:
    """Every rule and chain of the host's iptables, counters stripped."""
    dump = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    return {re.sub(r" \[\d+:\d+\]$", "", line) for line in dump.splitlines() if line[:1] in ":-"}


def test_kube_proxy_chains_live_in_the_router_and_leave_nothing_on_the_host(cluster: Cluster) -> None:
    if cluster.provider != "local":
        pytest.skip("the service router is the local provider's")
    provider = LocalProvider()
    name = f"sv-{uuid.uuid4().hex[:6]}"
    before = _host_rules()
    harness = subprocess.Popen(["sleep", "3600"])  # stands in for the harness that will crash
    try:
        own = provider.up(ClusterSpec(name=name, k8s_version=cluster.k8s_version, owner_pid=harness.pid))
        record, router = own.record, own.services.router
        inside = subprocess.run(
            ["nsenter", f"--net={router.netns}", "--", "iptables-save", "-t", "nat"],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert "-A KUBE-SERVICES" in inside and "default/kubernetes:https" in inside, inside[-2000:]
        added = _host_rules() - before
        ours = {line for line in added if router.host_if in line or str(router.pods) in line}
        assert not [line for line in added if "KUBE-" in line], added
        assert len([line for line in ours if router.comment in line]) == 3, ours  # 2 FORWARD, 1 nat
        assert cluster_leftovers(record) != []
        session = LocalProvider().get(cluster.name)
        if session is not None:  # two routers on one host: the session cluster's Services still answer
            session.services.wait_ready([], timeout=10)
            own.services.wait_ready([], timeout=10)

        harness.kill()  # the harness dies without any teardown
        harness.wait()
        assert name in provider.clean_stale()  # what the next `up` does first
        assert cluster_leftovers(record) == []
        after = _host_rules()
        assert not [line for line in after - before if router.host_if in line or str(router.pods) in line]
        assert not [line for line in after - before if "KUBE-" in line]
        assert subprocess.run(["ip", "link", "show", router.host_if], capture_output=True).returncode != 0
        assert not router.netns.exists()
    finally:
        harness.kill()
        provider.down(name)
