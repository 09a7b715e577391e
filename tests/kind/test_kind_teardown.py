"""Issue 12's proof: a kind run leaves nothing of longhaul's behind.

One real cluster (the offline node image when longhaul runs its own engine),
``up`` then ``down``; while it runs, every probe must see the cluster's traces
(so a probe that sees nothing proves nothing), and afterwards none: no node
container, no ``kind`` network, no iptables chain or rule of our dockerd, no
bridge in its range, no mount under its directories, no cgroup under its
parent, no dockerd process.  ``iptables-save`` must be what it was before.

This machine is shared: a local-provider cluster's kubelet and CNI plugins
(``KUBE-*`` and ``CNI-*`` chains, 198.18.<n>.0/24 rules) may change the
tables while this test runs, so those lines are left out of the comparison.
"""

from __future__ import annotations

import ipaddress
import subprocess
import uuid
from dataclasses import dataclass

import pytest

from longhaul.fixtures.cluster import ClusterSpec
from longhaul.fixtures.cluster.kind import dockerd, hostnet
from longhaul.fixtures.cluster.kind.engine import engine_unavailable_reason, own_engine_applies
from longhaul.fixtures.cluster.kind.provider import KindProvider
from longhaul.fixtures.util.mounts import mounts_under
from longhaul.fixtures.util.procs import pid_alive, pids_mentioning, read_pid

pytestmark = [pytest.mark.kind, pytest.mark.cluster]
LOCAL_PROVIDER_PODS = ipaddress.ip_network("198.18.0.0/16")


def _not_concurrent(line: str) -> bool:
    """False for lines another longhaul cluster on this machine may add or remove meanwhile."""
    if "KUBE-" in line or "CNI-" in line:
        return False
    for word in line.split():
        try:
            if ipaddress.ip_network(word, strict=False).subnet_of(LOCAL_PROVIDER_PODS):
                return False
        except ValueError:
            continue
    return True


@dataclass(frozen=True)
class HostState:
    iptables: tuple[str, ...]
    docker_chains: tuple[str, ...]
    bridges: tuple[str, ...]
    mounts: tuple[str, ...]
    cgroups: tuple[str, ...]
    dockerd_pids: tuple[int, ...]

    @classmethod
    def now(cls) -> HostState:
        rules = hostnet.iptables_save().splitlines()
        pid = read_pid(dockerd.PIDFILE)
        running = {pid} if pid is not None and pid_alive(pid) else set()
        running |= {p for p in pids_mentioning(dockerd.RUN_DIR) if "dockerd" in _comm(p)}
        return cls(
            iptables=tuple(line for line in rules if _not_concurrent(line)),
            docker_chains=tuple(line for line in rules if line.startswith(":DOCKER")),
            bridges=tuple(hostnet.own_bridges()),
            mounts=tuple(
                str(m) for m in (*mounts_under(dockerd.RUN_DIR), *mounts_under(dockerd.data_root()))
            ),
            cgroups=tuple(str(c) for c in dockerd.cgroup_dirs()),
            dockerd_pids=tuple(sorted(running)),
        )


def _comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def _containers(name: str) -> list[str]:
    out = subprocess.run(
        ["docker", "ps", "-a", "--filter", f"label=io.x-k8s.kind.cluster={name}", "--format", "{{.Names}}"],
        capture_output=True,
        text=True,
    )
    return out.stdout.split()


def test_a_kind_run_leaves_no_container_network_rule_bridge_mount_cgroup_or_dockerd() -> None:
    provider = KindProvider()
    reason = provider.unavailable_reason()
    if reason:
        pytest.skip(f"kind cannot run here: {reason}")
    ours = own_engine_applies() and (dockerd.running() or engine_unavailable_reason() is not None)
    before = HostState.now()
    if ours and before.dockerd_pids:
        pytest.skip("longhaul's dockerd is already running (a kept cluster): its teardown is not this test's")
    name = f"kt-{uuid.uuid4().hex[:6]}"
    try:
        handle = provider.up(ClusterSpec(name=name))
        during = HostState.now()
        assert _containers(name) == [f"{name}-control-plane"]
        assert handle.host_address, "no gateway on the kind network"
        if ours:
            assert during.dockerd_pids, "our dockerd is not running while the cluster is up"
            assert during.docker_chains and during.bridges and during.mounts and during.cgroups, during
            assert ipaddress.ip_address(handle.host_address) in hostnet.OWN_RANGE
    finally:
        provider.down(name)
    after = HostState.now()
    if ours:
        assert after.dockerd_pids == (), "dockerd still running"
        assert after.docker_chains == () and after.bridges == () and after.mounts == (), after
        assert after.cgroups == (), after.cgroups
        assert not dockerd.RUN_DIR.exists()
    else:
        assert _containers(name) == []
    removed = sorted(set(before.iptables) - set(after.iptables))
    added = sorted(set(after.iptables) - set(before.iptables))
    assert (removed, added) == ([], []), f"iptables-save changed: removed {removed}, added {added}"
