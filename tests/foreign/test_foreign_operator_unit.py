"""The foreign operator without a cluster: its configuration, the pod it would make, its variants,
and that neither foreign program imports anything a real outsider would not have."""

from __future__ import annotations

import ast
import importlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from ambient_operator.broken import VARIANTS
from ambient_operator.reconciler import Reconciler, now, rfc3339
from ambient_operator.settings import Settings, SettingsError, bind_address
from kubernetes import client

FOREIGN = Path(__file__).resolve().parent
SESSION: dict[str, Any] = {
    "apiVersion": "vteam.ambient-code/v1alpha1",
    "kind": "AgenticSession",
    "metadata": {"name": "s1", "namespace": "proj", "uid": "u-1"},
    "spec": {"environmentVariables": {"AGENT_STEPS": "3", "BACKEND_API_URL": "http://evil"}},
}
ENV = {"AMBIENT_CODE_RUNNER_IMAGE": "example.local/runner:1", "TOKEN_REFRESH_THRESHOLD_SECONDS": "8"}


def reconciler(cls: type[Reconciler] = Reconciler, **env: str) -> Reconciler:
    return cls(client.ApiClient(), Settings.from_env({**ENV, **env}))


def variant_class(name: str) -> type[Reconciler]:
    module = importlib.import_module(f"ambient_operator.broken.{name}")
    [cls] = [
        v
        for v in vars(module).values()
        if isinstance(v, type) and issubclass(v, Reconciler) and v is not Reconciler
    ]
    return cls


def test_settings_defaults_and_requeue() -> None:
    settings = Settings.from_env({"AMBIENT_CODE_RUNNER_IMAGE": "img"})
    assert (settings.image_pull_policy, settings.token_lifetime_seconds) == ("IfNotPresent", 3600)
    assert settings.refresh_threshold_seconds == 2700 and settings.requeue_seconds == 30
    assert Settings.from_env(ENV).requeue_seconds == 2
    assert settings.backend_url("proj") == "http://backend-service.proj.svc.cluster.local:8080/api"
    other = Settings.from_env({**ENV, "BACKEND_NAMESPACE": "ambient-code"})
    assert other.backend_url("proj") == "http://backend-service.ambient-code.svc.cluster.local:8080/api"
    with pytest.raises(SettingsError, match="AMBIENT_CODE_RUNNER_IMAGE"):
        Settings.from_env({})
    assert bind_address("0") is None and bind_address(":0") == ("0.0.0.0", 0)
    assert bind_address("127.0.0.1:8081") == ("127.0.0.1", 8081)


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        ([], {}, "AMBIENT_CODE_RUNNER_IMAGE is required"),
        (["--namespace", "x"], ENV, "unrecognized arguments: --namespace"),
    ],
)
def test_process_exits_2_on_bad_configuration(argv: list[str], env: dict[str, str], message: str) -> None:
    clean = {k: v for k, v in os.environ.items() if k not in ("AMBIENT_CODE_RUNNER_IMAGE", "KUBECONFIG")}
    done = subprocess.run(
        [sys.executable, "-m", "ambient_operator", *argv],
        env={**clean, **env, "PYTHONPATH": str(FOREIGN)},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2, done.stderr
    assert message in done.stderr


def test_pod_has_the_upstream_shape() -> None:
    pod = reconciler().pod_body(SESSION)
    meta, spec = pod["metadata"], pod["spec"]
    assert meta["name"] == "s1-runner" and meta["labels"] == {"agentic-session": "s1"}
    assert (
        meta["ownerReferences"][0]["kind"] == "AgenticSession" and meta["ownerReferences"][0]["uid"] == "u-1"
    )
    assert spec["restartPolicy"] == "Never" and spec["automountServiceAccountToken"] is False
    assert spec["serviceAccountName"] == "ambient-session-s1"
    [main] = spec["containers"]
    assert main["name"] == "ambient-code-runner" and main["image"] == ENV["AMBIENT_CODE_RUNNER_IMAGE"]
    assert "command" not in main, "the image's entrypoint runs the runner"
    init, sidecar = spec["initContainers"]
    assert "restartPolicy" not in init and sidecar["restartPolicy"] == "Always"
    assert {init["image"], sidecar["image"]} == {main["image"]}
    [volume] = [v for v in spec["volumes"] if v["name"] == "runner-token"]
    assert volume["secret"] == {
        "secretName": "ambient-runner-token-s1",
        "items": [{"key": "k8s-token", "path": "bot-token"}],
    }
    [mount] = [m for m in main["volumeMounts"] if m["name"] == "runner-token"]
    assert mount == {"name": "runner-token", "mountPath": "/var/run/secrets/ambient", "readOnly": True}
    assert main["livenessProbe"]["httpGet"] == {"path": "/health", "port": 8001}
    env = {e["name"]: e["value"] for e in main["env"]}
    assert env == {
        "AGENT_STEPS": "3",
        "AGENTIC_SESSION_NAME": "s1",
        "AGENTIC_SESSION_NAMESPACE": "proj",
        "BACKEND_API_URL": "http://backend-service.proj.svc.cluster.local:8080/api",
    }


def test_refresh_is_due_after_the_threshold() -> None:
    correct = reconciler()
    assert not correct.refresh_due(rfc3339(now() - timedelta(seconds=2)))
    assert correct.refresh_due(rfc3339(now() - timedelta(seconds=9)))
    assert correct.refresh_due(None) and correct.refresh_due("garbage")


# -- the variants' static effects (the behavioural ones are in the cluster test) ------------------


def test_every_variant_has_a_docstring_and_killed_by() -> None:
    for name in VARIANTS:
        module = importlib.import_module(f"ambient_operator.broken.{name}")
        assert module.__doc__ and module.KILLED_BY, name
        variant_class(name)


def test_subpath_mount_variant_mounts_with_subpath() -> None:
    main = reconciler(variant_class("subpath_mount")).pod_body(SESSION)["spec"]["containers"][0]
    [mount] = [m for m in main["volumeMounts"] if m["name"] == "runner-token"]
    assert mount.get("subPath") == "bot-token"


def test_token_in_env_variant_has_no_token_volume() -> None:
    spec = reconciler(variant_class("token_in_env")).pod_body(SESSION)["spec"]
    assert all(v["name"] != "runner-token" for v in spec["volumes"])
    assert any(e["name"] == "BOT_TOKEN" and "valueFrom" in e for e in spec["containers"][0]["env"])


@pytest.mark.parametrize("name", ["no_refresh", "refresh_after_expiry"])
def test_refresh_variants_miss_the_threshold(name: str) -> None:
    broken = reconciler(variant_class(name))
    assert not broken.refresh_due(rfc3339(now() - timedelta(seconds=60)))


# -- the programs are outsiders -------------------------------------------------------------------

ALLOWED = {
    "ambient_operator": {"kubernetes"},
    "ambient_runner": {"websockets", "tenacity"},
}


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_only_stdlib_and_own_requirements(package: str) -> None:
    allowed = ALLOWED[package] | {package} | set(sys.stdlib_module_names) | {"__future__"}
    requirements = (FOREIGN / package / "requirements.txt").read_text()
    assert all(name in requirements for name in ALLOWED[package])
    for path in sorted((FOREIGN / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] in allowed, f"{path.relative_to(FOREIGN)} imports {name}"


def test_crd_prunes_unknown_fields() -> None:
    crd = yaml.safe_load((FOREIGN / "ambient_operator" / "manifests" / "crd.yaml").read_text())
    assert crd["metadata"]["name"] == "agenticsessions.vteam.ambient-code"
    [version] = crd["spec"]["versions"]
    assert version["name"] == "v1alpha1" and version["subresources"] == {"status": {}}
    assert "x-kubernetes-preserve-unknown-fields" not in yaml.safe_dump(crd)
    schema = version["schema"]["openAPIV3Schema"]["properties"]
    assert set(schema["spec"]["properties"]) == {"environmentVariables", "timeout"}
    assert schema["status"]["properties"]["phase"]["enum"] == [
        "Pending",
        "Creating",
        "Running",
        "Completed",
        "Failed",
    ]


# -- the process's servers, offline (an API server that never answers) ----------------------------


def _operator(tmp_path: Path, *flags: str) -> subprocess.Popen[bytes]:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    env = {**os.environ, **ENV, "PYTHONPATH": str(FOREIGN), "KUBECONFIG": str(kubeconfig)}
    return subprocess.Popen(
        [sys.executable, "-m", "ambient_operator", *flags],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_healthz_answers_and_a_second_copy_on_the_same_port_fails(tmp_path: Path) -> None:
    port = _free_port()
    first = _operator(
        tmp_path, "--health-probe-bind-address", f"127.0.0.1:{port}", "--metrics-bind-address", ":0"
    )
    try:
        deadline = time.monotonic() + 90  # two interpreters importing kubernetes on a loaded machine
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
                    assert answer.status == 200
                    break
            except OSError:
                assert first.poll() is None, first.communicate()[0].decode()
                assert time.monotonic() < deadline, "no /healthz"
                time.sleep(0.2)
        with pytest.raises(urllib.error.HTTPError) as not_ready:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2)
        assert not_ready.value.code == 503, "not ready before its watches synced"
        second = _operator(
            tmp_path, "--health-probe-bind-address", f"127.0.0.1:{port}", "--metrics-bind-address", "0"
        )
        out, _ = second.communicate(timeout=90)
        assert second.returncode == 1, out.decode()
        assert b"cannot serve: OSError" in out
    finally:
        first.kill()
        first.wait(10)
