"""The kind provider cannot run here, so everything it generates is checked here."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from longhaul.fixtures.cluster import ClusterSpec, ProviderUnavailable, choose_provider
from longhaul.fixtures.cluster.kind.config import NODE_IMAGES, node_image, render_config
from longhaul.fixtures.cluster.kind.provider import KindProvider


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
