"""The foreign operator (``python -m ambient_operator``) as a real process on a real cluster.

It runs as its own ServiceAccount bound to the shipped ClusterRole (``manifests/rbac.yaml``), with a
kubeconfig holding a TokenRequest token, so a grant it lacks is a real 403.  Its runner pods run the
foreign runner from an image built offline (``ambient_runner`` + its requirements); the runner finds
no backend (there is none in the cluster) and keeps retrying, which is all these checks need: a pod
that lives, answers its liveness probe and logs the fingerprint of each token it reads.

The foreign CRD has the same name as longhaul's but prunes what it does not declare, so on a run
that also has longhaul's own cluster tests this module takes a private cluster.  One operator at a
time per cluster (it watches every namespace): a file lock serialises the tests across workers.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException

from longhaul.fixtures.cluster import Cluster
from longhaul.fixtures.cluster.provider import ImageLoader
from longhaul.fixtures.kube.clients import (
    admin_client,
    request_token,
    server_and_ca,
    token_client,
    token_kubeconfig,
    whoami,
)
from longhaul.fixtures.kube.crd import install_crd
from longhaul.fixtures.plugin.cluster import private_cluster
from longhaul.fixtures.util.cache import cache_dir, file_lock
from longhaul.fixtures.util.waiting import wait_for

pytestmark = pytest.mark.cluster

FOREIGN = Path(__file__).resolve().parent
MANIFESTS = FOREIGN / "ambient_operator" / "manifests"
G, V, P = "vteam.ambient-code", "v1alpha1", "agenticsessions"
OPERATOR_NS = "ambient-code"
THRESHOLD = "6"
# The runner in the pod: no backend answers, so it retries for long and stays alive.
RUNNER_ENV = {"AGENT_GIVE_UP_SECONDS": "900", "AGENT_STEPS": "5"}


def fp(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:8]


@dataclass
class Foreign:
    cluster: Cluster
    api: client.ApiClient
    image: str
    operator_kubeconfig: Path

    @property
    def core(self) -> client.CoreV1Api:
        return client.CoreV1Api(self.api)

    @property
    def custom(self) -> client.CustomObjectsApi:
        return client.CustomObjectsApi(self.api)


def _apply(api: client.ApiClient, doc: dict[str, Any]) -> None:
    """Create, or replace what a previous run left (cluster-scoped RBAC survives namespaces)."""
    kind, name, ns = doc["kind"], doc["metadata"]["name"], doc["metadata"].get("namespace")
    rbac, core = client.RbacAuthorizationV1Api(api), client.CoreV1Api(api)
    create, replace = {
        "ServiceAccount": (
            lambda: core.create_namespaced_service_account(ns, doc),
            lambda: core.replace_namespaced_service_account(name, ns, doc),
        ),
        "ClusterRole": (
            lambda: rbac.create_cluster_role(doc),
            lambda: rbac.replace_cluster_role(name, doc),
        ),
        "ClusterRoleBinding": (
            lambda: rbac.create_cluster_role_binding(doc),
            lambda: rbac.replace_cluster_role_binding(name, doc),
        ),
    }[kind]
    try:
        create()
    except ApiException as exc:
        if exc.status != 409:
            raise
        replace()


def _others_use_the_cluster(session: pytest.Session, me: Path) -> bool:
    return any("cluster" in getattr(item, "fixturenames", ()) and item.path != me for item in session.items)


@pytest.fixture(scope="module")
def foreign(
    request: pytest.FixtureRequest, cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Foreign]:
    from longhaul.fixtures.images.runner import RunnerImageRecipe, build_runner_image  # slow import

    if _others_use_the_cluster(request.session, Path(__file__)):
        context = private_cluster(request.config, cluster, f"foreign-{os.getpid()}")
    else:
        context = _as_is(cluster)
    with context as own:
        if not isinstance(own, ImageLoader):
            pytest.skip(f"the {own.provider} provider cannot load images")
        requirements = (FOREIGN / "ambient_runner" / "requirements.txt").read_text().split()
        image = build_runner_image(
            RunnerImageRecipe(
                code_dirs=(FOREIGN / "ambient_runner",),
                entrypoint=("python3", "-m", "ambient_runner"),
                pip_requirements=tuple(requirements),
                name="ambient-runner",
            )
        )
        own.load_image(image)
        api = admin_client(own.kubeconfig)
        install_crd(api, yaml.safe_load((MANIFESTS / "crd.yaml").read_text()))
        core = client.CoreV1Api(api)
        try:
            core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=OPERATOR_NS)))
        except ApiException as exc:
            if exc.status != 409:
                raise
        for doc in yaml.safe_load_all((MANIFESTS / "rbac.yaml").read_text()):
            _apply(api, doc)
        token = request_token(api, OPERATOR_NS, "ambient-operator", seconds=3600)
        server, ca = server_and_ca(own.kubeconfig)
        kubeconfig = token_kubeconfig(tmp_path_factory.mktemp("operator-identity"), server, ca, token)
        yield Foreign(own, api, image.ref, kubeconfig)


class _as_is:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster

    def __enter__(self) -> Cluster:
        return self.cluster

    def __exit__(self, *exc: object) -> None:
        pass


class Operator:
    def __init__(self, foreign: Foreign, log: Path, module: str = "ambient_operator") -> None:
        self.log = log
        self.module = module
        self.foreign = foreign
        self.proc: subprocess.Popen[bytes] | None = None
        self.offset = 0

    def start(self, *flags: str) -> Operator:
        """Start the process; wait_log then looks only at what this start logged."""
        self.offset = len(self.text())
        env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG",)}
        env.update(
            {
                "PYTHONPATH": str(FOREIGN),
                "AMBIENT_CODE_RUNNER_IMAGE": self.foreign.image,
                "TOKEN_REFRESH_THRESHOLD_SECONDS": THRESHOLD,
                "TOKEN_LIFETIME_SECONDS": "600",
            }
        )
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                self.module,
                "--kubeconfig",
                str(self.foreign.operator_kubeconfig),
                "--metrics-bind-address",
                "0",
                "--health-probe-bind-address",
                "127.0.0.1:0",
                *flags,
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()
        try:
            self.wait_log("watches synced", timeout=30)
        except BaseException:  # a start that never got ready must not outlive the test
            self.stop()
            raise
        return self

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_log(self, pattern: str, timeout: float = 20) -> re.Match[str]:
        def probe() -> re.Match[str] | None:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"operator exited {self.proc.returncode}:\n{self.text()}")
            return re.search(pattern, self.text()[self.offset :])

        found = wait_for(f"operator log line {pattern!r}", probe, timeout=timeout, fatal=(AssertionError,))
        assert found is not None
        return found

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


@pytest.fixture()
def operator_lock(foreign: Foreign) -> Iterator[None]:
    with file_lock(cache_dir("locks") / f"foreign-operator-{foreign.cluster.name}.lock"):
        yield


def make_namespace(foreign: Foreign, managed: bool = True, runner_secrets: bool = True) -> str:
    name = f"f-{uuid.uuid4().hex[:8]}"
    labels = {"ambient-code.io/managed": "true"} if managed else {}
    foreign.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels)))
    if runner_secrets:
        foreign.core.create_namespaced_secret(
            name,
            client.V1Secret(
                metadata=client.V1ObjectMeta(name="ambient-runner-secrets"),
                string_data={"ANTHROPIC_API_KEY": "x"},
            ),
        )
    return name


def make_session(
    foreign: Foreign, ns: str, name: str, variables: dict[str, str], **spec: Any
) -> dict[str, Any]:
    body = {
        "apiVersion": f"{G}/{V}",
        "kind": "AgenticSession",
        "metadata": {"name": name},
        "spec": {"environmentVariables": variables, **spec},
    }
    return dict(foreign.custom.create_namespaced_custom_object(G, V, ns, P, body))


def session_status(foreign: Foreign, ns: str, name: str) -> dict[str, Any]:
    return dict(foreign.custom.get_namespaced_custom_object(G, V, ns, P, name).get("status") or {})


def read(method: Any, name: str, ns: str) -> Any:
    try:
        return method(name, ns)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def secret_token(secret: Any) -> str:
    return base64.b64decode(secret.data["k8s-token"]).decode()


def pod_log(foreign: Foreign, ns: str, pod: str) -> str:
    try:
        return str(foreign.core.read_namespaced_pod_log(pod, ns, container="ambient-code-runner"))
    except ApiException:
        return ""


# -- behaviours a variant may break (each raises AssertionError when it is missing) --------------


def check_secret_recreated(foreign: Foreign, ns: str, s: str) -> str:
    """The token Secret of a running session, deleted, is back within seconds; its new token."""
    core, name = foreign.core, f"ambient-runner-token-{s}"
    old = wait_for("the token Secret", lambda: read(core.read_namespaced_secret, name, ns), timeout=20)
    core.delete_namespaced_secret(name, ns)
    again = wait_for(
        "the Secret recreated",
        lambda: read(core.read_namespaced_secret, name, ns),
        lambda found: found is not None and found.metadata.uid != old.metadata.uid,
        timeout=8,
    )
    return secret_token(again)


def check_pod_recreated(foreign: Foreign, ns: str, s: str) -> Any:
    """The runner pod of a live session, deleted, is recreated under the same name at once."""
    core, name = foreign.core, f"{s}-runner"
    old = wait_for("the runner pod", lambda: read(core.read_namespaced_pod, name, ns), timeout=20)
    core.delete_namespaced_pod(name, ns)
    wait_for(
        "the old pod gone",
        lambda: read(core.read_namespaced_pod, name, ns),
        lambda p: p is None or p.metadata.uid != old.metadata.uid,
        timeout=45,
        interval=0.1,
    )
    gone = time.monotonic()
    recreated = wait_for(
        "the pod recreated",
        lambda: read(core.read_namespaced_pod, name, ns),
        lambda p: p is not None and p.metadata.uid != old.metadata.uid,
        timeout=6,
        interval=0.1,
    )
    assert time.monotonic() - gone < 3, "recreated within about a second of the old pod's removal"
    assert session_status(foreign, ns, s).get("phase") in ("Running", "Creating")
    return recreated


def check_namespace_skipped(foreign: Foreign, operator: Operator, ns: str, s: str) -> None:
    """A session where the operator was not invited: nothing made, no status, one INFO line."""
    operator.wait_log(rf"INFO skipping session {ns}/{s}: ", timeout=10)
    time.sleep(1)
    assert read(foreign.core.read_namespaced_service_account, f"ambient-session-{s}", ns) is None
    assert read(foreign.core.read_namespaced_secret, f"ambient-runner-token-{s}", ns) is None
    assert read(foreign.core.read_namespaced_pod, f"{s}-runner", ns) is None
    assert not session_status(foreign, ns, s)
    assert operator.text().count(f"skipping session {ns}/{s}:") == 1


@pytest.fixture()
def namespaces(foreign: Foreign) -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    for ns in made:
        with contextlib.suppress(ApiException):
            foreign.core.delete_namespace(ns)


def test_correct_operator(
    foreign: Foreign, operator_lock: None, namespaces: list[str], tmp_path: Path
) -> None:
    core, rbac = foreign.core, client.RbacAuthorizationV1Api(foreign.api)
    ns = make_namespace(foreign)
    skipped_unlabelled = make_namespace(foreign, managed=False)
    skipped_no_secret = make_namespace(foreign, runner_secrets=False)
    namespaces += [ns, skipped_unlabelled, skipped_no_secret]
    operator = Operator(foreign, tmp_path / "operator.log").start()
    seen_tokens: set[str] = set()
    try:
        session = make_session(foreign, ns, "s1", RUNNER_ENV, env={"X": "1"}, backoffLimit=3)
        make_session(foreign, ns, "s2", {"AGENT_GIVE_UP_SECONDS": "1"})
        for skipped in (skipped_unlabelled, skipped_no_secret):
            make_session(foreign, skipped, "s1", RUNNER_ENV)
        assert set(session["spec"]) == {"environmentVariables"}, (
            "the schema prunes spec.env and spec.backoffLimit"
        )

        # -- the children and their shape ----------------------------------------------------
        pod = wait_for("pod s1-runner", lambda: read(core.read_namespaced_pod, "s1-runner", ns), timeout=20)
        sa = core.read_namespaced_service_account("ambient-session-s1", ns)
        secret = core.read_namespaced_secret("ambient-runner-token-s1", ns)
        role = rbac.read_namespaced_role("ambient-session-s1", ns)
        binding = rbac.read_namespaced_role_binding("ambient-session-s1", ns)
        uid = session["metadata"]["uid"]
        for obj in (sa, secret, role, binding, pod):
            [owner] = obj.metadata.owner_references
            assert (owner.kind, owner.name, owner.uid) == ("AgenticSession", "s1", uid), obj.metadata.name
        assert set(secret.data) == {"k8s-token", "agui-token"}
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
            secret.metadata.annotations["ambient-code.io/token-refreshed-at"],
        )
        first = secret_token(secret)
        seen_tokens.add(first)
        as_runner = token_client(*server_and_ca(foreign.cluster.kubeconfig), first)
        assert whoami(as_runner) == f"system:serviceaccount:{ns}:ambient-session-s1"
        assert pod.metadata.labels["agentic-session"] == "s1"
        spec = pod.spec
        assert spec.restart_policy == "Never" and spec.automount_service_account_token is False
        assert spec.service_account_name == "ambient-session-s1"
        [main] = spec.containers
        assert main.name == "ambient-code-runner" and main.image == foreign.image
        assert main.image_pull_policy == "IfNotPresent"
        assert [c.name for c in spec.init_containers] == ["init-workspace", "ambient-content"]
        assert spec.init_containers[1].restart_policy == "Always"
        [volume] = [v for v in spec.volumes if v.name == "runner-token"]
        assert volume.secret.secret_name == "ambient-runner-token-s1"
        assert [(i.key, i.path) for i in volume.secret.items] == [("k8s-token", "bot-token")]
        [mount] = [m for m in main.volume_mounts if m.name == "runner-token"]
        assert (mount.mount_path, mount.read_only, mount.sub_path) == ("/var/run/secrets/ambient", True, None)
        probe = main.liveness_probe
        assert (probe.http_get.path, probe.http_get.port, probe.initial_delay_seconds) == (
            "/health",
            8001,
            10,
        )
        env = {e.name: e.value for e in main.env}
        assert env == {
            **RUNNER_ENV,
            "AGENTIC_SESSION_NAME": "s1",
            "AGENTIC_SESSION_NAMESPACE": ns,
            "BACKEND_API_URL": f"http://backend-service.{ns}.svc.cluster.local:8080/api",
        }

        # -- it runs, and the runner reads the mounted token ---------------------------------
        wait_for(
            "session s1 Running",
            lambda: session_status(foreign, ns, "s1").get("phase"),
            lambda p: p == "Running",
            timeout=60,
        )

        # -- refresh: a new token and a new annotation once the threshold (6 s) passes -------
        refreshed = wait_for(
            "a refreshed token",
            lambda: core.read_namespaced_secret("ambient-runner-token-s1", ns),
            lambda s: secret_token(s) != first,
            timeout=20,
        )
        seen_tokens.add(secret_token(refreshed))
        assert (
            refreshed.metadata.annotations["ambient-code.io/token-refreshed-at"]
            != secret.metadata.annotations["ambient-code.io/token-refreshed-at"]
        )
        operator.wait_log(
            r"refreshed Secret .*/ambient-runner-token-s1 token_fp=" + fp(secret_token(refreshed))
        )

        # -- a deleted Secret is recreated, a deleted pod too, under the same name ------------
        seen_tokens.add(check_secret_recreated(foreign, ns, "s1"))
        recreated = check_pod_recreated(foreign, ns, "s1")

        # -- the runner in the recreated pod logs the token it read from the mount -----------
        def runner_fps() -> set[str]:
            return set(re.findall(r"token_fp=([0-9a-f]{8})", pod_log(foreign, ns, "s1-runner")))

        def minted() -> set[str]:
            return set(
                re.findall(r"Secret \S+/ambient-runner-token-s1 token_fp=([0-9a-f]{8})", operator.text())
            )

        presented = wait_for("the runner to log a token fingerprint", runner_fps, timeout=60)
        assert presented <= minted(), f"the runner presented {presented}, the operator minted {minted()}"
        # the refreshes (every 6 s) reach the running pod through the volume (no subPath), and
        # the runner re-reads the file on its reconnects
        rotated = wait_for(
            "a second token presented by the same pod", runner_fps, lambda f: len(f) >= 2, timeout=45
        )
        assert rotated <= minted(), f"the runner presented {rotated}, the operator minted {minted()}"

        # -- a failing runner: Failed with its exit code, and the pod removed after a grace --
        status = wait_for(
            "s2 Failed",
            lambda: session_status(foreign, ns, "s2"),
            lambda s: s.get("phase") == "Failed",
            timeout=90,
        )
        assert "code 1" in status["message"] and status.get("exitCode") == 1
        wait_for(
            "s2's finished pod deleted",
            lambda: read(core.read_namespaced_pod, "s2-runner", ns),
            lambda p: p is None,
            timeout=30,
        )

        # -- skipped namespaces: nothing made, one INFO line each ----------------------------
        for skipped in (skipped_unlabelled, skipped_no_secret):
            check_namespace_skipped(foreign, operator, skipped, "s1")

        # -- a restarted operator adopts the running pod ------------------------------------
        operator.stop()
        operator.start("--leader-elect", "--max-concurrent-reconciles", "2")
        operator.wait_log(r"became leader \(Lease default/ambient-code-operator-leader\)")
        operator.wait_log(rf"adopted existing Pod {ns}/s1-runner")
        time.sleep(2)
        assert core.read_namespaced_pod("s1-runner", ns).metadata.uid == recreated.metadata.uid
        restarted = operator.text()[operator.offset :]
        assert "created Pod" not in restarted, "a restart makes no second pod"
        # the liveness probe (GET :8001/health) kept the runner alive throughout
        assert session_status(foreign, ns, "s1")["phase"] == "Running"
    finally:
        operator.stop()
    text = operator.text()
    for token in seen_tokens:
        assert token not in text and token[-16:] not in text, "a token value is in the operator's log"
    assert "ERROR" not in text, text


# -- the variants whose regression only a cluster shows (the others die in the offline tests) ----

CLUSTER_KILLED = {
    "no_secret_recreate": "secret-recreated",
    "no_pod_recreate": "pod-recreated",
    "ignores_namespace_gate": "unlabelled-namespace-skipped",
}


EXPECTED_FAILURE = {
    "secret-recreated": "the Secret recreated",
    "pod-recreated": "the pod recreated",
    "unlabelled-namespace-skipped": "skipping session",
}


@pytest.mark.parametrize("variant", sorted(CLUSTER_KILLED))
def test_variant_is_killed(
    variant: str, foreign: Foreign, operator_lock: None, namespaces: list[str], tmp_path: Path
) -> None:
    behaviour = CLUSTER_KILLED[variant]
    assert behaviour in _killed_by(variant)
    managed = behaviour != "unlabelled-namespace-skipped"
    ns = make_namespace(foreign, managed=managed)
    namespaces.append(ns)
    operator = Operator(foreign, tmp_path / "operator.log", f"ambient_operator.broken.{variant}").start()
    try:
        make_session(foreign, ns, "v1", RUNNER_ENV)
        with pytest.raises(AssertionError, match=EXPECTED_FAILURE[behaviour]):
            if behaviour == "secret-recreated":
                wait_for(
                    "the pod", lambda: read(foreign.core.read_namespaced_pod, "v1-runner", ns), timeout=20
                )
                check_secret_recreated(foreign, ns, "v1")
            elif behaviour == "pod-recreated":
                check_pod_recreated(foreign, ns, "v1")
            else:
                check_namespace_skipped(foreign, operator, ns, "v1")
        assert operator.proc is not None and operator.proc.poll() is None, "killed by the check, not a crash"
    finally:
        operator.stop()


def _killed_by(variant: str) -> tuple[str, ...]:
    return tuple(importlib.import_module(f"ambient_operator.broken.{variant}").KILLED_BY)
