"""The readiness probe proves what scenarios need, and says which part a broken cluster lacks."""

from __future__ import annotations

import pytest

from longhaul.fixtures.cluster import Cluster
from longhaul.fixtures.engine.readiness import ClusterNotReady, probe_cluster
from longhaul.fixtures.images.runner import build_runner_image

pytestmark = pytest.mark.node


@pytest.fixture(scope="module")
def runner_ref(cluster: Cluster) -> str:
    image = build_runner_image()
    cluster.load_image(image)  # type: ignore[attr-defined]
    return image.ref


def test_a_working_cluster_is_ready_with_figures(cluster: Cluster, runner_ref: str) -> None:
    readiness = probe_cluster(cluster, runner_ref, timeout=90)
    assert readiness.pod_running_s > 0
    assert readiness.secret_update_s >= 0 and (readiness.host_reached_s or -1) >= 0
    assert readiness.host_reachable and readiness.node_version.startswith("v1.")  # the kubelet's own
    assert f"cluster ready: node {readiness.node_version}, probe pod Running in" in readiness.header_line()


def test_an_image_the_node_cannot_get_is_reported_as_such(cluster: Cluster) -> None:
    with pytest.raises(ClusterNotReady, match=r"probe pod cannot start: (ErrImagePull|ImagePullBackOff)"):
        probe_cluster(cluster, "longhaul.local/absent:never-built", timeout=60)


def test_a_host_address_pods_cannot_reach_is_reported_as_such(cluster: Cluster, runner_ref: str) -> None:
    class Unreachable:
        """The same cluster, claiming 127.0.0.1 as the host's address: inside the pod that is the pod."""

        def __getattr__(self, name: str) -> object:
            return getattr(cluster, name)

        host_address = "127.0.0.1"

    with pytest.raises(ClusterNotReady, match=r"cannot reach the harness host at http://127\.0\.0\.1:"):
        probe_cluster(Unreachable(), runner_ref, timeout=20)  # type: ignore[arg-type]
    # --backend-site auto: an unreachable host is an answer (the backend goes into the cluster)
    tried = probe_cluster(Unreachable(), runner_ref, timeout=60, host_check="try", host_timeout=5)  # type: ignore[arg-type]
    assert not tried.host_reachable and "cannot reach the harness host" in tried.host_problem
    skipped = probe_cluster(Unreachable(), runner_ref, timeout=60, host_check="skip")  # type: ignore[arg-type]
    assert not skipped.host_reachable and "not checked" in skipped.host_problem
