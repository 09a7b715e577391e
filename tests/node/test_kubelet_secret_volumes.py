"""Issue 4's proof: a real kubelet mounts Secrets into real containers and updates them in place.

The pod prints, every 0.2 s, the token file's content, the ``..data`` link
target and the subPath copy; the harness reads those lines through the API
server's log endpoint (which also proves pod logs are retrievable).
"""

from __future__ import annotations

import pytest
from kubernetes import client

from longhaul.fixtures.cluster import Cluster
from longhaul.fixtures.kube.clients import admin_client
from longhaul.fixtures.kube.pods import pod_logs, wait_pod
from longhaul.fixtures.util.waiting import wait_for

pytestmark = [pytest.mark.cluster, pytest.mark.node]

WATCHER = """
import os, time
while True:
    def read(p):
        try:
            return open(p).read().strip()
        except OSError as e:
            return type(e).__name__
    print(f"t={time.time():.3f} vol={read('/app/runner-token/k8s-token')} "
          f"data={os.readlink('/app/runner-token/..data')} sub={read('/sub/k8s-token')}", flush=True)
    time.sleep(0.2)
"""


def _lines(core: client.CoreV1Api, ns: str, pod: str) -> list[dict[str, str]]:
    out = []
    for line in pod_logs(core, ns, pod).splitlines():
        fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
        if "vol" in fields:
            out.append(fields)
    return out


def _watcher_pod(image: str) -> client.V1Pod:
    mount = client.V1VolumeMount(name="tok", mount_path="/app/runner-token", read_only=True)
    sub = client.V1VolumeMount(name="tok", mount_path="/sub/k8s-token", sub_path="k8s-token", read_only=True)
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name="watcher"),
        spec=client.V1PodSpec(
            automount_service_account_token=False,
            restart_policy="Never",
            containers=[
                client.V1Container(
                    name="watch",
                    image=image,
                    image_pull_policy="Never",
                    command=["python3", "-c", WATCHER],
                    volume_mounts=[mount, sub],
                )
            ],
            volumes=[client.V1Volume(name="tok", secret=client.V1SecretVolumeSource(secret_name="tok"))],
        ),
    )


def test_node_is_ready(cluster: Cluster) -> None:
    nodes = client.CoreV1Api(admin_client(cluster.kubeconfig)).list_node().items
    assert len(nodes) == 1
    ready = {c.type: c.status for c in nodes[0].status.conditions}
    assert ready["Ready"] == "True", nodes[0].status.conditions
    assert nodes[0].status.node_info.kubelet_version == cluster.k8s_version


def test_a_jobs_pod_runs_the_runner_image_to_completion(
    cluster: Cluster, runner_image: str, namespace: str
) -> None:
    batch = client.BatchV1Api(admin_client(cluster.kubeconfig))
    core = client.CoreV1Api(admin_client(cluster.kubeconfig))
    container = client.V1Container(
        name="runner",
        image=runner_image,
        image_pull_policy="Never",
        command=["python3", "-c", "import runner_stub, websockets, longhaul; print('imports-ok')"],
    )
    batch.create_namespaced_job(
        namespace,
        client.V1Job(
            metadata=client.V1ObjectMeta(name="once"),
            spec=client.V1JobSpec(
                backoff_limit=0,
                template=client.V1PodTemplateSpec(
                    spec=client.V1PodSpec(
                        restart_policy="Never", containers=[container], automount_service_account_token=False
                    )
                ),
            ),
        ),
    )
    job = wait_for(
        "job once to succeed",
        lambda: batch.read_namespaced_job_status("once", namespace).status,
        lambda s: bool(s.succeeded) or bool(s.failed),
        timeout=60,
        describe=lambda s: f"active={s.active} succeeded={s.succeeded} failed={s.failed}",
    )
    assert job.succeeded == 1
    pod = core.list_namespaced_pod(namespace, label_selector="job-name=once").items[0].metadata.name
    assert "imports-ok" in pod_logs(core, namespace, pod)


def test_secret_updates_reach_the_running_container_through_the_data_swap_but_not_subpath(
    cluster: Cluster, runner_image: str, namespace: str
) -> None:
    core = client.CoreV1Api(admin_client(cluster.kubeconfig))
    core.create_namespaced_secret(
        namespace,
        client.V1Secret(metadata=client.V1ObjectMeta(name="tok"), string_data={"k8s-token": "first"}),
    )
    core.create_namespaced_pod(namespace, _watcher_pod(runner_image))
    wait_pod(core, namespace, "watcher", ("Running",), timeout=60)
    before = wait_for(
        "watcher output", lambda: _lines(core, namespace, "watcher"), lambda ls: bool(ls), timeout=30
    )
    assert before[-1]["vol"] == "first" and before[-1]["sub"] == "first"
    old_data = before[-1]["data"]
    assert old_data.startswith("..20")  # AtomicWriter's timestamped directory

    core.patch_namespaced_secret("tok", namespace, {"stringData": {"k8s-token": "second"}})
    sync = cluster_sync_frequency(cluster)
    after = wait_for(
        "the mounted file to show the update",
        lambda: _lines(core, namespace, "watcher"),
        lambda ls: ls[-1]["vol"] == "second",
        timeout=4 * sync + 30,
        describe=lambda ls: ls[-1] if ls else None,
    )
    first_new = next(line for line in after if line["vol"] == "second")
    assert first_new["data"] != old_data, "the update must arrive as a new ..data directory"
    assert after[-1]["sub"] == "first", (
        "a subPath mount never receives updates (the trap the contract avoids)"
    )


def cluster_sync_frequency(cluster: Cluster) -> float:
    record = getattr(cluster, "record", None)
    return float(getattr(record, "sync_frequency_seconds", 60.0))
