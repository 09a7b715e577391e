"""Everything the kind provider generates, checked without a container engine."""

from __future__ import annotations

import ipaddress
import json

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from longhaul.fixtures.cluster import ClusterSpec, ProviderUnavailable, choose_provider
from longhaul.fixtures.cluster.kind import hostnet
from longhaul.fixtures.cluster.kind.config import NODE_IMAGES, node_image, render_config
from longhaul.fixtures.cluster.kind.provider import KindProvider
from longhaul.fixtures.images.kindnode import cni


def _patches(config: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    docs = [yaml.safe_load(p) for p in config["nodes"][0]["kubeadmConfigPatches"]]
    return {d["kind"]: d for d in docs}


@pytest.mark.parametrize("minor", sorted(NODE_IMAGES))
def test_every_pinned_node_image_is_pinned_by_digest(minor: str) -> None:
    image = NODE_IMAGES[minor]
    name, _, digest = image.partition("@sha256:")
    assert name.startswith(f"kindest/node:v{minor}.")
    assert len(digest) == 64 and int(digest, 16) >= 0


@pytest.mark.parametrize("version", ["v1.32.11", "v1.33.7", "v1.34.4", "v1.35.0"])
def test_up_to_1_35_apiserver_args_use_the_kubeadm_v1beta3_map_form(version: str) -> None:
    patch = _patches(render_config(ClusterSpec(name="x", k8s_version=version)))["ClusterConfiguration"]
    assert patch["apiVersion"] == "kubeadm.k8s.io/v1beta3"
    assert patch["apiServer"]["extraArgs"] == {"service-account-extend-token-expiration": "false"}


def test_from_1_36_apiserver_args_use_the_kubeadm_v1beta4_list_form(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(NODE_IMAGES, "1.36", "kindest/node:v1.36.0@sha256:" + "0" * 64)
    patch = _patches(render_config(ClusterSpec(name="x", k8s_version="v1.36.1")))["ClusterConfiguration"]
    assert patch["apiVersion"] == "kubeadm.k8s.io/v1beta4"
    assert patch["apiServer"]["extraArgs"] == [
        {"name": "service-account-extend-token-expiration", "value": "false"}
    ]


@given(st.floats(min_value=1, max_value=120).map(lambda f: round(f, 1)))
def test_kubelet_sync_frequency_reaches_the_kubelet_patch(seconds: float) -> None:
    config = render_config(ClusterSpec(name="x", k8s_version="v1.34.4", sync_frequency_seconds=seconds))
    kubelet = _patches(config)["KubeletConfiguration"]
    assert kubelet["syncFrequency"] == f"{seconds:g}s"
    assert kubelet["configMapAndSecretChangeDetectionStrategy"] == "Watch"
    assert config["nodes"][0]["image"] == NODE_IMAGES["1.34"]


def test_an_unpinned_minor_is_a_clear_error() -> None:
    with pytest.raises(ProviderUnavailable, match=r"no pinned kind node image for Kubernetes 1\.20"):
        node_image("v1.20.0")


def test_without_a_container_engine_kind_is_unavailable_with_a_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KIND_EXPERIMENTAL_PROVIDER", "no-such-engine-binary")
    reason = KindProvider().unavailable_reason()
    assert reason is not None and "no-such-engine-binary" in reason
    provider, why = choose_provider("auto")
    assert provider.name == "local" and "auto" in why and "no-such-engine-binary" in why


BENCHMARKING = ipaddress.ip_network("198.18.0.0/15")
PRIVATE = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]


def test_the_github_path_keeps_kinds_own_networking_and_containerd_config() -> None:
    config = render_config(ClusterSpec(name="x", k8s_version="v1.34.4"))
    assert "networking" not in config and "containerdConfigPatches" not in config
    assert config["nodes"][0]["image"] == NODE_IMAGES["1.34"]


def test_the_offline_image_gets_ipv4_subnets_in_the_benchmarking_range_and_no_kindnetd() -> None:
    config = render_config(
        ClusterSpec(name="x", k8s_version="v1.34.4"),
        image="longhaul.local/kind-node:v1.34.4-abc",
        offline=True,
    )
    net = config["networking"]
    assert net["ipFamily"] == "ipv4" and net["disableDefaultCNI"] is True
    assert config["nodes"][0]["image"] == "longhaul.local/kind-node:v1.34.4-abc"
    subnets = [ipaddress.ip_network(net[k]) for k in ("podSubnet", "serviceSubnet")]
    assert all(s.subnet_of(BENCHMARKING) for s in subnets)
    assert not subnets[0].overlaps(subnets[1])
    assert not any(s.overlaps(p) for s in subnets for p in PRIVATE)
    # clear of the local provider's pod networks (198.18.<n>.0/24) and of longhaul's dockerd pool
    assert not any(s.overlaps(ipaddress.ip_network("198.18.0.0/16")) for s in subnets)
    assert not any(s.overlaps(hostnet.OWN_RANGE) for s in subnets)
    assert "containerdConfigPatches" not in config


def test_restricting_oom_score_adj_is_added_only_when_asked() -> None:
    spec = ClusterSpec(name="x", k8s_version="v1.34.4")
    patches = render_config(spec, restrict_oom_score_adj=True)["containerdConfigPatches"]
    assert patches == ['[plugins."io.containerd.grpc.v1.cri"]\n  restrict_oom_score_adj = true\n']
    assert "containerdConfigPatches" not in render_config(spec)


def test_the_baked_cni_config_hands_out_the_nodes_share_of_the_pod_subnet() -> None:
    doc = json.loads(cni.conflist())
    ptp = doc["plugins"][0]
    assert ptp["type"] == "ptp" and ptp["ipMasq"] is True
    (rng,) = ptp["ipam"]["ranges"][0]
    node_range = ipaddress.ip_network(rng["subnet"])
    pod = ipaddress.ip_network(cni.POD_SUBNET)
    assert node_range.subnet_of(pod) and node_range == next(pod.subnets(new_prefix=24))
    assert {p["type"] for p in doc["plugins"]} | {"host-local", "loopback"} == set(cni.PLUGINS)
