"""Issue 4's proof: `down` of a cluster with running pods leaves no container, shim, mount, veth or rule."""

from __future__ import annotations

import uuid

import pytest
from kubernetes import client

from longhaul.fixtures.cluster import Cluster, ClusterSpec
from longhaul.fixtures.cluster.local.cluster import LocalProvider, cluster_leftovers
from longhaul.fixtures.kube.clients import admin_client
from longhaul.fixtures.kube.pods import wait_pod

pytestmark = [pytest.mark.cluster, pytest.mark.node]


def test_down_with_running_pods_leaves_nothing_behind(cluster: Cluster, runner_image: str) -> None:
    provider = LocalProvider()
    name = f"ld-{uuid.uuid4().hex[:6]}"
    try:
        other = provider.up(ClusterSpec(name=name, k8s_version=cluster.k8s_version))
        other.load_image(__import__("longhaul.fixtures.images.runner", fromlist=["x"]).build_runner_image())
        core = client.CoreV1Api(admin_client(other.kubeconfig))
        pod = client.V1Pod(
            metadata=client.V1ObjectMeta(name="sleeper"),
            spec=client.V1PodSpec(
                automount_service_account_token=False,
                containers=[
                    client.V1Container(
                        name="s", image=runner_image, image_pull_policy="Never", command=["sleep", "3600"]
                    )
                ],
                volumes=[],
            ),
        )
        core.create_namespaced_pod("default", pod)
        wait_pod(core, "default", "sleeper", ("Running",), timeout=60)
        record = other.record
        running = cluster_leftovers(record)
        assert any(item.startswith("veth") for item in running), running
        assert any(item.startswith("bridge") for item in running), running
        assert any("shim" in item or "process" in item for item in running), running
    finally:
        provider.down(name)
    assert cluster_leftovers(record) == []
