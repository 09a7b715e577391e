"""Services and cluster DNS as pods see them: what an in-cluster backend and a foreign runner rely on.

* a pod resolves ``kubernetes.default.svc.cluster.local`` and reaches the API
  through the ``kubernetes`` Service (TLS verified with the cluster's CA), and
  reaches a ClusterIP Service backed by another pod, by its cluster name;
* a pod reaches a selectorless Service whose EndpointSlice points at an HTTP
  server on the harness host (``cluster.host_address``), by the URL a foreign
  runner derives: ``BACKEND_API_URL=http://backend-service.<ns>.svc.cluster.local:8080/api``.

Every pod is the runner image (there is no registry); the probe is a Python
script that retries each step until its own deadline and prints one JSON line,
so a failure says which step failed and what it last saw.  Provider-neutral:
these hold on any Kubernetes.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from longhaul.fixtures.cluster import Cluster
from longhaul.fixtures.kube.clients import admin_client
from longhaul.fixtures.kube.pods import pod_logs, script_pod, wait_pod
from longhaul.fixtures.util.waiting import wait_for

pytestmark = pytest.mark.cluster
POD_DEADLINE_S = 45  # each probe pod's own retry budget, from its start
POD_TIMEOUT_S = 120.0  # the test's wait for a probe pod to finish (start-up on a loaded node included)

PROBE = r"""
import json, os, socket, ssl, sys, time, urllib.request
deadline = time.monotonic() + float(os.environ["DEADLINE"])
result = {"resolv.conf": open("/etc/resolv.conf").read().split("\n")}

def attempt(name, step):
    last = None
    while time.monotonic() < deadline:
        try:
            result[name] = step()
            return
        except Exception as exc:  # every failure is an observation until the deadline
            last = f"{type(exc).__name__}: {exc}"
            time.sleep(0.2)
    result[name] = f"FAILED: {last}"

def get(url, context=None):
    with urllib.request.urlopen(url, timeout=3, context=context) as resp:
        return resp.read().decode().strip()

for key, value in os.environ.items():
    if key.startswith("RESOLVE_"):
        attempt(key, lambda v=value: socket.gethostbyname(v))
    if key.startswith("GET_"):
        attempt(key, lambda v=value: get(v))
if os.environ.get("API_CA"):
    ctx = ssl.create_default_context(cafile=os.environ["API_CA"])
    api = "https://kubernetes.default.svc.cluster.local/version"
    attempt("API_VERSION", lambda: json.loads(get(api, ctx))["gitVersion"])
print("RESULT " + json.dumps(result, sort_keys=True), flush=True)
"""


def _probe_pod(name: str, image: str, env: dict[str, str], ca_configmap: bool = False) -> client.V1Pod:
    env = {**env, "DEADLINE": str(POD_DEADLINE_S)}
    mounts, volumes = [], []
    if ca_configmap:  # the CA every namespace gets (kube-root-ca.crt), without mounting a token
        env["API_CA"] = "/ca/ca.crt"
        mounts.append(client.V1VolumeMount(name="ca", mount_path="/ca", read_only=True))
        volumes.append(
            client.V1Volume(name="ca", config_map=client.V1ConfigMapVolumeSource(name="kube-root-ca.crt"))
        )
    return script_pod(
        name, image, ["python3", "-c", PROBE], env=env, mounts=mounts, volumes=volumes, pull_policy="Never"
    )


def _run_probe(core: client.CoreV1Api, namespace: str, pod: client.V1Pod) -> dict[str, Any]:
    """Create the probe pod, wait for it to finish, return its JSON line (the log on failure)."""
    core.create_namespaced_pod(namespace, pod)
    name = pod.metadata.name
    state = wait_pod(core, namespace, name, ("Succeeded", "Failed"), timeout=POD_TIMEOUT_S)
    log = pod_logs(core, namespace, name)
    lines = [line for line in log.splitlines() if line.startswith("RESULT ")]
    assert state.phase == "Succeeded" and lines, f"probe pod {name} ended {state}; log:\n{log[-3000:]}"
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("RESULT "))
    return result


def _wait_configmap(core: client.CoreV1Api, namespace: str, name: str) -> None:
    def present() -> str:
        try:
            core.read_namespaced_config_map(name, namespace)
            return "present"
        except ApiException as exc:
            return f"HTTP {exc.status}"

    wait_for(f"ConfigMap {namespace}/{name}", present, lambda s: s == "present", timeout=60)


def test_a_pod_resolves_the_cluster_and_reaches_a_clusterip_service(
    cluster: Cluster, namespace: str, runner_image: str
) -> None:
    core = client.CoreV1Api(admin_client(cluster.kubeconfig))
    marker = f"pong-{uuid.uuid4().hex[:8]}"
    serve = f"mkdir -p /srv && echo {marker} > /srv/ping && cd /srv && exec python3 -m http.server 8080"
    server = script_pod("web", runner_image, ["sh", "-c", serve], labels={"app": "web"}, pull_policy="Never")
    core.create_namespaced_pod(namespace, server)
    service = client.V1Service(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1ServiceSpec(
            selector={"app": "web"}, ports=[client.V1ServicePort(port=80, target_port=8080)]
        ),
    )
    created = core.create_namespaced_service(namespace, service)
    wait_pod(core, namespace, "web", ("Running",), timeout=POD_TIMEOUT_S)
    _wait_configmap(core, namespace, "kube-root-ca.crt")

    fqdn = f"web.{namespace}.svc.cluster.local"
    result = _run_probe(
        core,
        namespace,
        _probe_pod(
            "probe",
            runner_image,
            {
                "RESOLVE_KUBERNETES": "kubernetes.default.svc.cluster.local",
                "RESOLVE_WEB": fqdn,
                "GET_WEB_FQDN": f"http://{fqdn}/ping",
                "GET_WEB_SHORT": "http://web/ping",  # the namespace's search domain
            },
            ca_configmap=True,
        ),
    )
    kubernetes_ip = core.read_namespaced_service("kubernetes", "default").spec.cluster_ip
    assert result["RESOLVE_KUBERNETES"] == kubernetes_ip, result
    assert result["RESOLVE_WEB"] == created.spec.cluster_ip, result
    assert result["GET_WEB_FQDN"] == marker and result["GET_WEB_SHORT"] == marker, result
    assert result["API_VERSION"] == cluster.k8s_version, result


class _HostBackend(ThreadingHTTPServer):
    """An HTTP server on the harness host (all addresses), as a backend beside the harness would be."""

    daemon_threads = True

    def __init__(self, marker: str) -> None:
        self.marker = marker
        self.paths: list[str] = []
        super().__init__(("0.0.0.0", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _HostBackend

    def do_GET(self) -> None:
        self.server.paths.append(self.path)
        body = self.server.marker.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def host_backend() -> Iterator[_HostBackend]:
    backend = _HostBackend(f"backend-{uuid.uuid4().hex[:8]}")
    thread = threading.Thread(target=backend.serve_forever, daemon=True)
    thread.start()
    try:
        yield backend
    finally:
        backend.shutdown()
        backend.server_close()
        thread.join(timeout=10)


def test_a_selectorless_service_reaches_a_backend_on_the_host_address(
    cluster: Cluster, namespace: str, runner_image: str, host_backend: _HostBackend
) -> None:
    core = client.CoreV1Api(admin_client(cluster.kubeconfig))
    discovery = client.DiscoveryV1Api(admin_client(cluster.kubeconfig))
    port = host_backend.server_address[1]
    core.create_namespaced_service(
        namespace,
        client.V1Service(
            metadata=client.V1ObjectMeta(name="backend-service"),
            spec=client.V1ServiceSpec(ports=[client.V1ServicePort(name="http", port=8080, target_port=port)]),
        ),
    )
    discovery.create_namespaced_endpoint_slice(
        namespace,
        client.V1EndpointSlice(
            metadata=client.V1ObjectMeta(
                name="backend-service-host", labels={"kubernetes.io/service-name": "backend-service"}
            ),
            address_type="IPv4",
            endpoints=[
                client.V1Endpoint(
                    addresses=[cluster.host_address], conditions=client.V1EndpointConditions(ready=True)
                )
            ],
            ports=[client.DiscoveryV1EndpointPort(name="http", port=port, protocol="TCP")],
        ),
    )
    url = f"http://backend-service.{namespace}.svc.cluster.local:8080/api"
    result = _run_probe(
        core, namespace, _probe_pod("foreign-runner", runner_image, {"GET_BACKEND_API_URL": url})
    )
    assert result["GET_BACKEND_API_URL"] == host_backend.marker, result
    assert "/api" in host_backend.paths, host_backend.paths
