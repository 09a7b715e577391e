"""The pods a cluster benchmark runs: sleepers (create to Running) and a Secret watcher (propagation).

The watcher prints ``time.time()`` and the mounted file's content every
0.1 s; the container shares the host's clock, so "patch call to first line
with the new value" is a latency on one clock, with up to 0.1 s of sampling.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from kubernetes import client

from longhaul.fixtures.kube.clients import admin_client
from longhaul.fixtures.kube.pods import pod_logs, pod_state
from longhaul.fixtures.util.waiting import wait_for

NAMESPACE = "bench"
SECRET = "tok"
WATCHER = """
import time
while True:
    try:
        value = open('/app/runner-token/k8s-token').read().strip()
    except OSError as e:
        value = type(e).__name__
    print(f't={time.time():.3f} vol={value}', flush=True)
    time.sleep(0.1)
"""


def _pod(name: str, image: str, command: list[str], secret: str | None = None) -> client.V1Pod:
    container = client.V1Container(name="main", image=image, image_pull_policy="Never", command=command)
    volumes = []
    if secret:
        container.volume_mounts = [
            client.V1VolumeMount(name="tok", mount_path="/app/runner-token", read_only=True)
        ]
        volumes = [client.V1Volume(name="tok", secret=client.V1SecretVolumeSource(secret_name=secret))]
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PodSpec(
            automount_service_account_token=False,
            restart_policy="Never",
            containers=[container],
            volumes=volumes,
        ),
    )


class NodeWorkload:
    """A namespace with one Secret and the watcher pod that mounts it; then timed pods and updates."""

    def __init__(self, kubeconfig: Path, image: str) -> None:
        self.core = client.CoreV1Api(admin_client(kubeconfig))
        self.image = image
        self.pods = 0
        core = self.core
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))
        wait_for(  # the ServiceAccount admission plugin rejects pods until it exists
            "ServiceAccount default",
            lambda: core.read_namespaced_service_account("default", NAMESPACE),
            timeout=30,
        )
        meta = client.V1ObjectMeta(name=SECRET)
        core.create_namespaced_secret(
            NAMESPACE, client.V1Secret(metadata=meta, string_data={"k8s-token": "0"})
        )
        core.create_namespaced_pod(NAMESPACE, _pod("watcher", image, ["python3", "-c", WATCHER], SECRET))
        self._wait_running("watcher")
        wait_for("watcher output", lambda: self._first_seen("0"), lambda t: t is not None, timeout=30)

    def pod_to_running(self) -> float:
        """Seconds from the create call to phase Running, for one new sleeping pod."""
        name = f"sleeper-{self.pods}"
        self.pods += 1
        start = time.perf_counter()
        self.core.create_namespaced_pod(NAMESPACE, _pod(name, self.image, ["sleep", "3600"]))
        self._wait_running(name)
        return time.perf_counter() - start

    def secret_propagation(self, timeout: float) -> float:
        """Seconds from the patch call to the watcher's first line showing the new content."""
        value = uuid.uuid4().hex[:12]
        start = time.time()
        self.core.patch_namespaced_secret(SECRET, NAMESPACE, {"stringData": {"k8s-token": value}})
        seen = wait_for(
            f"Secret content {value} in the container",
            lambda: self._first_seen(value),
            lambda t: t is not None,
            timeout=timeout,
        )
        return float(seen or 0.0) - start

    def _wait_running(self, name: str) -> None:
        wait_for(
            f"pod {name} Running",
            lambda: pod_state(self.core, NAMESPACE, name),
            lambda s: s.phase == "Running",
            timeout=60,
            interval=0.05,
        )

    def _first_seen(self, value: str) -> float | None:
        for line in pod_logs(self.core, NAMESPACE, "watcher").splitlines():
            fields = dict(f.split("=", 1) for f in line.split() if "=" in f)
            if fields.get("vol") == value:
                return float(fields["t"])
        return None
