"""The backend as a Deployment in the test namespace, reached only through the API server.

What ``--backend-site cluster`` relies on, checked against a real cluster:
the service proxy carries the debug secret to the pod (and a request without
it gets the backend's 403 back through the proxy); the ledger comes out by
``exec`` without leaving a trace in itself; a restart kills the container in
place, so the pod, its address and the ledger on the emptyDir survive; the
backend's ServiceAccount has no token mounted and may do nothing but what
every authenticated caller may.  Nothing here needs Service routing
(kube-proxy, DNS): the proxy dials the endpoint itself, so this runs on the
local provider as on kind.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client

from longhaul.fixtures.cluster import Cluster, ImageLoader
from longhaul.fixtures.engine import backend_manifests as m
from longhaul.fixtures.engine.backend_cluster import ClusterSite
from longhaul.fixtures.images.backend import build_backend_image
from longhaul.fixtures.kube.clients import admin_client
from longhaul.fixtures.kube.through_api import ProxyError, service_proxy
from longhaul.ledger import Request, SessionLedger

pytestmark = pytest.mark.cluster


@pytest.fixture()
def site(cluster: Cluster, namespace: str, tmp_path: Path) -> Iterator[ClusterSite]:
    if not isinstance(cluster, ImageLoader):
        pytest.skip(f"the {cluster.provider} provider cannot load the backend image")
    image = build_backend_image()
    cluster.load_image(image)
    api = admin_client(cluster.kubeconfig)
    backend = ClusterSite(
        api, namespace, tmp_path, image.ref, "Never", list(m.BACKEND_COMMAND), ["--ping-interval", "5"]
    )
    backend.start()
    yield backend
    backend.stop()


def _pod(site: ClusterSite) -> client.V1Pod:
    (pod,) = site.core.list_namespaced_pod(
        site.namespace, label_selector=f"app.kubernetes.io/name={m.NAME}"
    ).items
    return pod


def test_debug_calls_go_through_the_service_proxy_with_the_secret_and_only_with_it(site: ClusterSite) -> None:
    site.drop("s-1")  # with the secret: 200
    with pytest.raises(ProxyError, match="HTTP 403"):
        service_proxy(site.api, site.namespace, m.NAME, m.PORT, "debug/ledger")
    with pytest.raises(ProxyError, match="HTTP 403"):
        service_proxy(
            site.api, site.namespace, m.NAME, m.PORT, "debug/ledger", headers={"X-Longhaul-Debug": "x"}
        )
    site._read_at = 0.0
    records = SessionLedger.load(site.ledger_file()).records
    seen = [(r.path, r.status) for r in records if isinstance(r, Request)]
    assert seen == [("/debug/drop", 200), ("/debug/ledger", 403), ("/debug/ledger", 403)], seen
    assert site.url.endswith(f":{m.PORT}") and site.url.startswith("http://")


def test_a_restart_kills_the_container_in_place_and_the_ledger_survives(site: ClusterSite) -> None:
    site.drop("before")
    before = _pod(site)
    site.restart(1.0)
    after = _pod(site)
    assert after.metadata.uid == before.metadata.uid and after.status.pod_ip == before.status.pod_ip
    assert after.status.container_statuses[0].restart_count == 1
    site._read_at = 0.0
    paths = [r.path for r in SessionLedger.load(site.ledger_file()).records if isinstance(r, Request)]
    assert paths == ["/debug/drop"], "the ledger written before the restart is still there"
    site.stop()
    log = (site.workdir / "backend.log").read_text()
    assert log.count("event=listening") == 2, log  # both incarnations' logs are in the bundle


def test_the_backend_pod_holds_no_token_and_its_account_has_no_grants(site: ClusterSite) -> None:
    pod = _pod(site)
    assert pod.spec.automount_service_account_token is False
    mounts = {v.mount_path for v in pod.spec.containers[0].volume_mounts}
    assert "/var/run/secrets/kubernetes.io/serviceaccount" not in mounts
    assert pod.spec.containers[0].security_context.run_as_non_root is True
    bindings = client.RbacAuthorizationV1Api(site.api).list_namespaced_role_binding(site.namespace).items
    subjects = [s.name for b in bindings for s in (b.subjects or [])]
    assert m.NAME not in subjects


def test_a_backend_image_the_node_lacks_fails_the_start_at_once_with_the_reason(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    from longhaul.fixtures.engine.backend_cluster import BackendCannotStart

    api = admin_client(cluster.kubeconfig)
    absent = ClusterSite(api, namespace, tmp_path, "longhaul.local/absent:never-built", "Never", ["x"], [])
    with pytest.raises(BackendCannotStart, match="ErrImageNeverPull"):
        absent.start()
    absent.stop()
