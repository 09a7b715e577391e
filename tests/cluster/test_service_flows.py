"""An established pod -> ClusterIP connection survives the host losing its conntrack entry.

Why: the fast tier on an existing cluster failed about one run in two because
a runner's WebSocket to an in-cluster backend, through the backend's
ClusterIP, went silent mid-session.  The main cause was the pod bridge's
moving MAC (``tests/node/test_bridge_address.py``); while chasing it, conntrack
also showed a host entry for such a flow destroyed while ESTABLISHED, and with
the host masquerading the flow as well, that alone kills it: the server side's
next packet arrives for the host's link address with no mapping and is reset.
The local provider now forwards pod -> ClusterIP un-NATed
(``fixtures/cluster/local/servicenet.py``).  This test deletes the entry on
purpose, three times, while a server pod streams ticks to a client pod through
a Service, and requires the stream to go on both ways.  The server speaks
first after each deletion (it ticks every 50 ms, the client answers once a
second), which is the direction the NATed path could not recover from.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest
from kubernetes import client

from longhaul.fixtures.cluster import Cluster
from longhaul.fixtures.kube.clients import admin_client
from longhaul.fixtures.kube.pods import pod_logs, script_pod, wait_pod
from longhaul.fixtures.util.waiting import wait_for

pytestmark = pytest.mark.cluster
POD_TIMEOUT_S = 120.0  # start-up on a loaded node included
RESUME_TIMEOUT_S = 6.0  # after a deletion, the client must count new ticks within this
DELETIONS = 3

SERVER = r"""
import socket, threading, time
listener = socket.create_server(("", 9000))
conn, _ = listener.accept()
received = 0
done = threading.Event()
def read():
    global received
    for line in conn.makefile():
        if line.strip() == "bye":
            break
        received += 1
    done.set()
threading.Thread(target=read, daemon=True).start()
n = 0
while not done.wait(0.05):
    n += 1
    conn.sendall(f"tick {n}\n".encode())
conn.sendall(f"count {received}\n".encode())
conn.close()
"""

CLIENT = r"""
import json, os, socket, time
connect_by = time.monotonic() + 30  # the server may not listen yet, nor its endpoint be programmed
while True:
    try:
        conn = socket.create_connection((os.environ["TARGET"], 9000), timeout=5)
        break
    except OSError:
        if time.monotonic() > connect_by:
            raise
        time.sleep(0.2)
conn.settimeout(3)
print("CONNECTED", flush=True)
lines = conn.makefile()
ticks, sent, biggest_gap, error = 0, 0, 0.0, None
last = time.monotonic()
end = last + float(os.environ["DURATION"])
next_report = last + 1
try:
    while time.monotonic() < end:
        line = lines.readline()
        if not line:
            raise ConnectionError("server closed the stream")
        now = time.monotonic()
        biggest_gap, last, ticks = max(biggest_gap, now - last), now, ticks + 1
        if now >= next_report:
            print(f"TICKS {ticks}", flush=True)
            conn.sendall(b"ping\n")
            sent, next_report = sent + 1, now + 1
    conn.sendall(b"bye\n")
    while not (line := lines.readline()).startswith("count "):
        if not line:
            raise ConnectionError("server closed before its count")
    counted = int(line.split()[1])
except Exception as exc:
    error, counted = f"{type(exc).__name__}: {exc}", None
print("RESULT " + json.dumps({"ticks": ticks, "sent": sent, "counted": counted,
                              "biggest_gap_s": round(biggest_gap, 2), "error": error}), flush=True)
"""


def _delete_host_entries(pod_ip: str, cluster_ip: str) -> int:
    """``conntrack -D`` on the host for the flow, in either orientation; how many entries went.

    Either: an entry the host re-creates from a packet of the server's side
    has the ClusterIP as its original source.
    """
    deleted = 0
    for source, destination in ((pod_ip, cluster_ip), (cluster_ip, pod_ip)):
        done = subprocess.run(
            ["conntrack", "-D", "-p", "tcp", "-s", source, "-d", destination], capture_output=True, text=True
        )
        found = re.search(r"(\d+) flow entr", done.stderr + done.stdout)
        deleted += int(found[1]) if found else 0
    return deleted


def _ticks(log: str) -> int:
    counts = [int(m) for m in re.findall(r"^TICKS (\d+)$", log, re.MULTILINE)]
    return counts[-1] if counts else 0


def test_an_established_clusterip_flow_survives_the_host_losing_its_conntrack_entry(
    cluster: Cluster, namespace: str, runner_image: str
) -> None:
    if cluster.provider != "local":
        pytest.skip("the host-side path to the service router is the local provider's")
    core = client.CoreV1Api(admin_client(cluster.kubeconfig))
    server = script_pod("ticker", runner_image, ["python3", "-c", SERVER], labels={"app": "ticker"})
    core.create_namespaced_pod(namespace, server)
    service = core.create_namespaced_service(
        namespace,
        client.V1Service(
            metadata=client.V1ObjectMeta(name="ticker"),
            spec=client.V1ServiceSpec(selector={"app": "ticker"}, ports=[client.V1ServicePort(port=9000)]),
        ),
    )
    cluster_ip = service.spec.cluster_ip
    wait_pod(core, namespace, "ticker", ("Running",), timeout=POD_TIMEOUT_S)
    env = {"TARGET": cluster_ip, "DURATION": str(4 + DELETIONS * 4)}
    core.create_namespaced_pod(
        namespace, script_pod("listener", runner_image, ["python3", "-c", CLIENT], env=env)
    )
    wait_for(
        "the client pod's connection through the ClusterIP",
        lambda: pod_logs(core, namespace, "listener"),
        lambda log: "TICKS" in log,
        timeout=POD_TIMEOUT_S,
        describe=lambda log: log[-500:],
    )
    pod_ip = core.read_namespaced_pod("listener", namespace).status.pod_ip

    deleted = []
    for _ in range(DELETIONS):
        seen = _ticks(pod_logs(core, namespace, "listener"))
        deleted.append(_delete_host_entries(pod_ip, cluster_ip))
        wait_for(
            f"the client's ticks to go on past {seen} after the host's conntrack entry was deleted",
            lambda: pod_logs(core, namespace, "listener"),
            lambda log, seen=seen: _ticks(log) > seen + 2 or "RESULT" in log,
            timeout=RESUME_TIMEOUT_S,
            describe=lambda log: log[-500:],
        )
    assert deleted[0], f"no host conntrack entry for {pod_ip} -> {cluster_ip} to delete: judged nothing"

    state = wait_pod(core, namespace, "listener", ("Succeeded", "Failed"), timeout=POD_TIMEOUT_S)
    log = pod_logs(core, namespace, "listener")
    results = [line.removeprefix("RESULT ") for line in log.splitlines() if line.startswith("RESULT ")]
    assert state.phase == "Succeeded" and results, f"client ended {state}; log:\n{log[-2000:]}"
    result = json.loads(results[-1])
    assert result["error"] is None, (result, deleted)
    assert result["counted"] == result["sent"] > DELETIONS, (result, deleted)
    assert result["biggest_gap_s"] < RESUME_TIMEOUT_S / 2, (result, deleted)
