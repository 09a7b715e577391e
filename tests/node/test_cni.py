"""Pod networking: a container on the cluster's bridge reaches a server on the host.

The backend stub will listen on the host while runner pods connect to it, so
this is the path every scenario depends on.  The namespace is attached with
the same conflist containerd's CRI plugin uses, run by :class:`CniRunner`.
Teardown must leave no bridge, iptables rule or lease behind, also when the
CNI DEL never happened (a crash).
"""

from __future__ import annotations

import ipaddress
import socket
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from longhaul.fixtures.cluster.local.cni import (
    BENCHMARK_RANGE,
    BridgeNetwork,
    iptables_rules_for,
    pod_subnet,
    service_subnet,
)
from longhaul.fixtures.cluster.local.cni_runner import CniRunner, NetNamespace
from longhaul.fixtures.cluster.local.containerd import Containerd
from longhaul.fixtures.images.runner import NodeImages

pytestmark = pytest.mark.node
# Cluster indexes 240-255 are reserved for these tests; clusters take theirs from 1 upward.
TEST_INDEXES = {"reach": 250, "crash": 251}
FORBIDDEN = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")  # never a target on these machines


def _bridge_exists(name: str) -> bool:
    return subprocess.run(["ip", "link", "show", name], capture_output=True).returncode == 0


@pytest.fixture
def network(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BridgeNetwork]:
    net = BridgeNetwork.for_cluster(f"test-{uuid.uuid4().hex[:6]}", request.param, tmp_path)
    try:
        yield net
    finally:
        net.teardown()


class OneShotServer:
    """A TCP server on 0.0.0.0 that greets one client and records its address."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("0.0.0.0", 0))
        self.sock.settimeout(60)
        self.port = self.sock.getsockname()[1]
        self.peers: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, (peer, _) = self.sock.accept()
        except OSError:
            return
        with conn:
            self.peers.append(peer)
            conn.sendall(b"hello from the host\n")

    def close(self) -> None:
        self.sock.close()
        self.thread.join(timeout=5)


@pytest.mark.parametrize("network", [TEST_INDEXES["reach"]], indirect=True)
def test_container_on_the_bridge_reaches_a_server_on_the_host(
    containerd: Containerd, images: NodeImages, network: BridgeNetwork, tmp_path: Path
) -> None:
    netns = NetNamespace(tmp_path / "netns" / "pod").create()
    server = OneShotServer()
    cni = CniRunner(network)
    try:
        result = cni.add("pod", netns.path)
        pod_ip = ipaddress.ip_interface(result["ips"][0]["address"]).ip
        assert pod_ip in network.subnet
        client = (
            "import socket;"
            f"s = socket.create_connection(('{network.gateway}', {server.port}), timeout=10);"
            "print(s.recv(100).decode().strip())"
        )
        argv = ["python3", "-c", client]
        done = containerd.run(images.runner.ref, argv, name="net-probe", netns=netns.path)
        assert (done.returncode, done.stdout.strip()) == (0, "hello from the host"), done.stderr
        assert server.peers == [str(pod_ip)]  # the server saw the pod itself, not a NATed address
        cni.delete("pod", netns.path)
        assert iptables_rules_for(network.network_name, network.subnet) == []
    finally:
        server.close()
        netns.delete()


@pytest.mark.parametrize("network", [TEST_INDEXES["crash"]], indirect=True)
def test_teardown_after_a_crash_removes_bridge_rules_leases(network: BridgeNetwork, tmp_path: Path) -> None:
    netns = NetNamespace(tmp_path / "netns" / "pod").create()
    try:
        CniRunner(network).add("crashed-pod", netns.path)  # and never DEL: the harness "crashed"
        assert _bridge_exists(network.bridge)
        assert iptables_rules_for(network.network_name, network.subnet)
        assert any(network.ipam_dir.rglob("198.18.*"))
    finally:
        netns.delete()

    actions = network.teardown()

    assert any("chain" in a for a in actions), actions
    assert not _bridge_exists(network.bridge)
    assert iptables_rules_for(network.network_name, network.subnet) == []
    assert not network.ipam_dir.exists()


def test_clusters_get_disjoint_networks_inside_the_benchmarking_range(tmp_path: Path) -> None:
    nets = [BridgeNetwork.for_cluster(f"c{i}", i, tmp_path / f"c{i}") for i in range(1, 40)]
    assert len({n.bridge for n in nets}) == len({n.network_name for n in nets}) == len(nets)
    assert all(len(n.bridge) <= 15 for n in nets)  # Linux interface name limit
    for i, net in enumerate(nets):
        assert net.subnet.subnet_of(BENCHMARK_RANGE)  # type: ignore[arg-type]
        assert not any(net.subnet.overlaps(other.subnet) for other in nets[i + 1 :])
        assert not net.subnet.overlaps(service_subnet(i + 1))
        assert not any(net.subnet.overlaps(ipaddress.ip_network(f)) for f in FORBIDDEN)
    with pytest.raises(ValueError):
        pod_subnet(256)
