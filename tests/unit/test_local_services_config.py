"""The local provider's Services and DNS configuration, rendered without a cluster.

What each setting is for is in the modules' docstrings (servicenet, kubeproxy,
clusterdns); these pin the settings a change could silently lose: the
masquerade the router's return path depends on, conntrack settings this VM
refuses, listeners that must stay off the host's ports, and addresses that
must stay inside the benchmarking range without overlapping each other.
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import threading
from pathlib import Path

import pytest

from longhaul.fixtures.cluster.local.clusterdns import corefile, rbac
from longhaul.fixtures.cluster.local.cni import (
    BENCHMARK_RANGE,
    BridgeNetwork,
    _rule_is_ours,
    pod_subnet,
    service_subnet,
)
from longhaul.fixtures.cluster.local.controlplane import ControlPlane
from longhaul.fixtures.cluster.local.kubelet import kubelet_config
from longhaul.fixtures.cluster.local.kubeproxy import kube_proxy_config
from longhaul.fixtures.cluster.local.layout import ClusterRecord, Layout
from longhaul.fixtures.cluster.local.pki import COREDNS, ClusterPKI
from longhaul.fixtures.cluster.local.servicenet import ROUTER_RANGE, ServiceRouter, router_link
from longhaul.fixtures.gobuild.kubernetes import KubeBinaries
from longhaul.fixtures.util.dnsquery import DnsError, decode_reply, encode_query, query_a

PODS = ipaddress.IPv4Network("198.18.7.0/24")


def _record() -> ClusterRecord:
    ports = dict.fromkeys(("etcd", "etcd_peer", "apiserver", "controller_manager", "scheduler"), 1)
    return ClusterRecord(
        "unit", "v1.34.4", 7, {**ports, "kubelet": 2, "kubelet_healthz": 3}, host_ip="192.0.2.2"
    )


def test_kube_proxy_masquerades_everything_and_leaves_conntrack_sysctls_alone() -> None:
    config = kube_proxy_config(Path("/k/kube-proxy.kubeconfig"), "unit-node", PODS)
    assert config["kind"] == "KubeProxyConfiguration" and config["mode"] == "iptables"
    assert config["hostnameOverride"] == "unit-node" and config["clusterCIDR"] == "198.18.7.0/24"
    assert config["clientConnection"]["kubeconfig"] == "/k/kube-proxy.kubeconfig"
    assert config["iptables"]["masqueradeAll"] is True  # the reply must come back through the router
    assert config["iptables"]["localhostNodePorts"] is False  # no route_localnet sysctl
    assert config["conntrack"]["maxPerCore"] == 0  # nf_conntrack_max is the host's, not the router's
    assert config["conntrack"]["tcpEstablishedTimeout"] == config["conntrack"]["tcpCloseWaitTimeout"] == "0s"
    for key in ("healthzBindAddress", "metricsBindAddress"):
        assert config[key].startswith("127.0.0.1:")


def test_corefile_serves_the_cluster_domain_from_the_api_and_forwards_the_rest() -> None:
    text = corefile(ipaddress.IPv4Address("198.18.7.1"), Path("/k/coredns.kubeconfig"), "longhaul-unit")
    lines = [line.strip() for line in text.splitlines()]
    assert lines[0] == ".:53 {" and "bind 198.18.7.1" in lines
    assert "kubernetes cluster.local in-addr.arpa ip6.arpa {" in lines
    assert "kubeconfig /k/coredns.kubeconfig longhaul-unit" in lines
    assert "pods insecure" in lines and "fallthrough in-addr.arpa ip6.arpa" in lines
    assert "forward . /etc/resolv.conf" in lines
    plugins = {line.split()[0] for line in lines if line and line not in ("}", ".:53 {")}
    assert not plugins & {"health", "ready", "prometheus"}  # each would take a fixed port on the host
    assert text.count("{") == text.count("}")


def test_coredns_may_only_read_what_its_kubernetes_plugin_watches() -> None:
    role, binding = rbac()
    assert {verb for rule in role["rules"] for verb in rule["verbs"]} == {"list", "watch"}
    resources = {r for rule in role["rules"] for r in rule["resources"]}
    assert resources == {"endpoints", "services", "pods", "namespaces", "endpointslices"}
    assert binding["subjects"] == [
        {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": COREDNS.common_name}
    ]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]


def test_kubelet_points_pods_at_the_cluster_dns(tmp_path: Path) -> None:
    config = kubelet_config(_record(), ClusterPKI(tmp_path), "unix:///x.sock", dns="198.18.7.1")
    assert config["clusterDNS"] == ["198.18.7.1"] and config["clusterDomain"] == "cluster.local"


def test_apiserver_maintains_the_kubernetes_service_endpoint(tmp_path: Path) -> None:
    record = _record()
    plane = ControlPlane(record, Layout("unit"), ClusterPKI(tmp_path), KubeBinaries("v1.34.4", "", tmp_path))
    argv = next(s.argv for s in plane.specs() if s.name == "kube-apiserver")
    assert "--endpoint-reconciler-type=lease" in argv
    assert "--advertise-address=192.0.2.2" in argv  # the address the router and pods reach


@pytest.mark.parametrize("index", [0, 1, 7, 199, 255])
def test_router_links_stay_in_the_benchmark_range_apart_from_pods_and_services(index: int) -> None:
    link = router_link(index)
    assert link.prefixlen == 31 and link.subnet_of(ROUTER_RANGE) and ROUTER_RANGE.subnet_of(BENCHMARK_RANGE)  # type: ignore[arg-type]
    for other in range(200):  # every index a cluster can get (layout.next_index)
        assert not link.overlaps(pod_subnet(other)) and not link.overlaps(service_subnet(other))
    assert len({router_link(i) for i in range(256)}) == 256


def test_router_forward_rules_are_found_by_the_bridge_teardown(tmp_path: Path) -> None:
    network = BridgeNetwork.for_cluster("unit", 7, tmp_path)
    router = ServiceRouter.for_network(network, 7, service_subnet(7), tmp_path)
    assert len(router.host_if) <= 15 and router.host_if.startswith(network.bridge)
    assert router.host_ip != router.router_ip and router.netns.is_relative_to(tmp_path)
    for rule in router.forward_rules():
        saved = f"-A FORWARD {' '.join(rule)}"
        assert router.comment in saved and _rule_is_ours(saved, network.network_name, network.subnet)


def test_pods_reach_the_service_router_without_the_hosts_nat(tmp_path: Path) -> None:
    """The exemption names exactly pod -> service range out of the router link, and returns early."""
    network = BridgeNetwork.for_cluster("unit", 7, tmp_path)
    router = ServiceRouter.for_network(network, 7, service_subnet(7), tmp_path)
    (rule,) = router.nat_rules()
    assert rule[rule.index("-s") + 1] == str(network.subnet)
    assert rule[rule.index("-d") + 1] == str(service_subnet(7))
    assert rule[rule.index("-o") + 1] == router.host_if and rule[-2:] == ["-j", "RETURN"]
    saved = f"-A POSTROUTING {' '.join(rule)}"
    assert router.comment in saved and _rule_is_ours(saved, network.network_name, network.subnet)


def _reply(query: bytes, rcode: int, addresses: list[str]) -> bytes:
    """What a server sends: the question echoed, answers naming it by a compression pointer."""
    qid = struct.unpack("!H", query[:2])[0]
    header = struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1, len(addresses), 0, 0)
    answers = b"".join(
        b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 5, 4) + socket.inet_aton(a) for a in addresses
    )
    return header + query[12:] + answers


def test_dns_reply_decoding() -> None:
    query = encode_query("kubernetes.default.svc.cluster.local", 4242)
    assert b"\x0akubernetes\x07default\x03svc\x07cluster\x05local\x00" in query
    answer = decode_reply(_reply(query, 0, ["198.19.7.1"]), 4242)
    assert str(answer) == "NOERROR 198.19.7.1"
    assert decode_reply(_reply(query, 3, []), 4242).rcode == "NXDOMAIN"
    with pytest.raises(DnsError, match="do not answer"):
        decode_reply(_reply(query, 0, []), 4243)
    with pytest.raises(DnsError, match="shorter"):
        decode_reply(b"\x00", 4242)


def test_dns_query_over_udp_against_a_local_server() -> None:
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))

    def answer_once() -> None:
        data, peer = server.recvfrom(512)
        server.sendto(_reply(data, 0, ["198.19.7.10", "198.19.7.11"]), peer)

    thread = threading.Thread(target=answer_once, daemon=True)
    thread.start()
    try:
        got = query_a("127.0.0.1", "web.ns.svc.cluster.local", port=server.getsockname()[1], timeout=5)
    finally:
        thread.join(timeout=5)
        server.close()
    assert got.addresses == ("198.19.7.10", "198.19.7.11")
