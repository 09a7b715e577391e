"""The operator's I/O path (official client -> HTTP -> object store) without a cluster.

Uses :mod:`operator_apiserver`, a real HTTP object store (see its docstring for
what it does not do).  These tests prove wiring, adoption after restart, and
that logs never carry a token; RBAC and kubelet behaviour are proven on a
real cluster.
"""

from __future__ import annotations

import base64
import io
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from operator_apiserver import ObjectStoreApiServer

from fixtures.procs import ManagedProcess
from fixtures.waiting import wait_for
from longhaul import contract
from longhaul.tokens import fingerprint
from operator_stub import kube, manifests
from operator_stub.eventlog import EventLog
from operator_stub.reconcile import Reconciler
from operator_stub.session import MAX_SESSION_NAME
from operator_stub.settings import OperatorSettings, parse_settings

G = contract.GROUP
NS = "team-a"
START = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(clock: Clock) -> Iterator[ObjectStoreApiServer]:
    with ObjectStoreApiServer(clock=clock).running() as server:
        yield server


def operator_settings(*argv: str) -> OperatorSettings:
    return parse_settings(["--backend-url", "http://198.18.0.1:8765", "--namespace", NS, *argv], {})


class Operator:
    """One operator 'process': its own client, log and in-memory state, sharing the store and clock."""

    def __init__(self, store: ObjectStoreApiServer, clock: Clock, *argv: str) -> None:
        self.stream = io.StringIO()
        api_client = kube.client.ApiClient(kube.client.Configuration(host=store.url))
        self.reconciler = Reconciler(
            kube.KubeApi(api_client), operator_settings(*argv), EventLog(self.stream, clock), clock
        )

    def run(self) -> int:
        return self.reconciler.reconcile_all()

    @property
    def log(self) -> str:
        return self.stream.getvalue()

    def events(self, name: str) -> list[str]:
        return [line for line in self.log.splitlines() if f" event={name} " in f" {line.split(' ', 1)[1]}"]


def add_session(store: ObjectStoreApiServer, name: str = "s1", **spec: Any) -> dict[str, Any]:
    obj = {
        "apiVersion": f"{G}/{contract.VERSION}",
        "kind": contract.KIND,
        "metadata": {"name": name, "namespace": NS},
        "spec": spec,
    }
    return store.put(G, contract.PLURAL, obj)


def session_status(store: ObjectStoreApiServer, name: str = "s1") -> dict[str, Any]:
    obj = store.get(G, contract.PLURAL, NS, name)
    assert obj is not None
    return dict(obj.get("status") or {})


def test_first_pass_creates_every_child_in_contract_shape(store: ObjectStoreApiServer, clock: Clock) -> None:
    cr = add_session(store, env={"RUNNER_MESSAGES": "20"})
    op = Operator(store, clock)
    assert op.run() == 0

    sa = store.get("", "serviceaccounts", NS, "ambient-session-s1")
    secret = store.get("", "secrets", NS, "ambient-runner-token-s1")
    job = store.get("batch", "jobs", NS, "s1-job")
    assert sa and secret and job
    assert store.get("rbac.authorization.k8s.io", "roles", NS, "ambient-session-s1")
    assert store.get("rbac.authorization.k8s.io", "rolebindings", NS, "ambient-session-s1")
    for child in (sa, secret, job):
        assert child["metadata"]["ownerReferences"][0]["uid"] == cr["metadata"]["uid"]
    (token,) = store.issued_tokens
    assert store.secret_token(NS, "ambient-runner-token-s1") == token
    notes = secret["metadata"]["annotations"]
    assert notes[contract.REFRESHED_AT_ANNOTATION] == "2026-11-28T10:00:00Z"
    assert notes["ambient-code.io/service-account-uid"] == sa["metadata"]["uid"]
    env = {e["name"]: e for e in job["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["BOT_TOKEN_PATH"]["value"] == "/app/runner-token/k8s-token"
    assert env["WEBSOCKET_URL"]["value"] == "ws://198.18.0.1:8765/api/projects/team-a/sessions/s1/ws"
    assert env["RUNNER_MESSAGES"]["value"] == "20"
    status = session_status(store)
    assert status["phase"] == "Creating"
    assert status["tokenFingerprint"] == fingerprint(token)
    (refreshed,) = op.events("refreshed")
    assert f"fp={fingerprint(token)}" in refreshed and "reason=secret-missing" in refreshed
    assert "expires=2026-11-28T11:00:00Z" in refreshed


def test_status_follows_the_job_and_terminal_sessions_are_left_alone(
    store: ObjectStoreApiServer, clock: Clock
) -> None:
    add_session(store)
    op = Operator(store, clock)
    op.run()
    store.patch_status("batch", "jobs", NS, "s1-job", {"active": 1, "ready": 1})
    op.run()
    assert session_status(store)["phase"] == "Running"
    assert any("phase=Running" in line for line in op.events("phase"))
    store.patch_status("batch", "jobs", NS, "s1-job", {"succeeded": 1, "conditions": [
        {"type": "Complete", "status": "True"}]})  # fmt: skip
    op.run()
    assert session_status(store)["phase"] == "Completed"
    before = len(store.requests)
    clock.advance(hours=5)
    store.delete("batch", "jobs", NS, "s1-job")
    op.run()
    assert [r.verb for r in store.requests[before:]] == ["list"], "a finished session is not resurrected"


def test_a_restarted_operator_adopts_sessions_and_refreshes_on_the_secrets_schedule(
    store: ObjectStoreApiServer, clock: Clock
) -> None:
    add_session(store)
    Operator(store, clock, "--refresh-interval", "45m").run()
    first = store.secret_token(NS, "ambient-runner-token-s1")

    clock.advance(minutes=10)
    restarted = Operator(store, clock, "--refresh-interval", "45m")
    restarted.run()
    assert store.token_requests() == 1, "a fresh token must not be re-minted just because we restarted"
    (adopted,) = restarted.events("adopted")
    assert f"fp={fingerprint(first)}" in adopted and "due=2026-11-28T10:45:00Z" in adopted

    clock.advance(minutes=35, seconds=1)
    restarted.run()
    assert store.token_requests() == 2
    second = store.secret_token(NS, "ambient-runner-token-s1")
    assert second != first
    assert "reason=due" in restarted.events("refreshed")[0]
    assert session_status(store)["tokenFingerprint"] == fingerprint(second)
    assert session_status(store)["tokenRefreshedAt"] == "2026-11-28T10:45:01Z"
    assert not [r for r in store.requests if r.verb == "create" and r.resource == "jobs"][1:]


def test_deleted_secret_and_replaced_service_account_are_repaired_with_a_new_token(
    store: ObjectStoreApiServer, clock: Clock
) -> None:
    add_session(store)
    op = Operator(store, clock)
    op.run()
    store.delete("", "secrets", NS, "ambient-runner-token-s1")
    clock.advance(seconds=5)
    op.run()
    assert store.token_requests() == 2 and "reason=secret-missing" in op.events("refreshed")[-1]

    store.delete("", "serviceaccounts", NS, "ambient-session-s1")
    clock.advance(seconds=5)
    op.run()
    sa = store.get("", "serviceaccounts", NS, "ambient-session-s1")
    assert sa is not None and store.token_requests() == 3
    secret = store.get("", "secrets", NS, "ambient-runner-token-s1")
    assert secret is not None
    assert secret["metadata"]["annotations"]["ambient-code.io/service-account-uid"] == sa["metadata"]["uid"]
    assert "reason=service-account-missing" in op.events("refreshed")[-1]

    # Replaced behind our back between two passes: the UID on record no longer matches.
    store.delete("", "serviceaccounts", NS, "ambient-session-s1")
    store.put("", "serviceaccounts", {"metadata": {"name": "ambient-session-s1", "namespace": NS}})
    clock.advance(seconds=5)
    op.run()
    assert store.token_requests() == 4 and "reason=service-account-replaced" in op.events("refreshed")[-1]
    assert len([r for r in store.requests if r.verb == "create" and r.resource == "jobs"]) == 1


def test_a_shorter_token_than_requested_is_still_replaced_before_expiry(clock: Clock) -> None:
    with ObjectStoreApiServer(clock=clock, max_token_seconds=700).running() as store:
        add_session(store)
        op = Operator(store, clock, "--check-period", "5s", "--propagation-allowance", "30s")
        op.run()
        clock.advance(seconds=700 - 35 - 1)
        op.run()
        assert store.token_requests() == 1
        clock.advance(seconds=1)
        op.run()
        assert store.token_requests() == 2 and "reason=near-expiry" in op.events("refreshed")[-1]


def test_custom_secret_name_and_upstream_mode(store: ObjectStoreApiServer, clock: Clock) -> None:
    cr = add_session(store)
    cr["metadata"]["annotations"] = {contract.SECRET_NAME_ANNOTATION: "my-token"}
    Operator(store, clock, "--mode", "upstream").run()
    assert store.get("", "secrets", NS, "my-token") is not None
    assert store.get("", "secrets", NS, "ambient-runner-token-s1") is None
    job = store.get("batch", "jobs", NS, "s1-job")
    assert job is not None
    (volume,) = job["spec"]["template"]["spec"]["volumes"]
    assert volume["secret"] == {
        "secretName": "my-token",
        "items": [{"key": "k8s-token", "path": "bot-token"}],
    }


def test_an_invalid_session_is_failed_once_with_the_reason_and_gets_no_children(
    store: ObjectStoreApiServer, clock: Clock
) -> None:
    long_name = "x" * (MAX_SESSION_NAME + 1)
    add_session(store, name=long_name)
    op = Operator(store, clock)
    op.run()
    op.run()
    status = session_status(store, long_name)
    assert status["phase"] == "Failed" and "at most 59" in status["message"]
    assert len(op.events("rejected")) == 1
    assert not [r for r in store.requests if r.verb == "create"]


def test_operator_rbac_grants_every_call_and_nothing_it_neither_makes_nor_delegates(
    store: ObjectStoreApiServer, clock: Clock
) -> None:
    add_session(store)
    op = Operator(store, clock)
    op.run()
    store.patch_status("batch", "jobs", NS, "s1-job", {"active": 1, "ready": 1})
    store.delete("", "secrets", NS, "ambient-runner-token-s1")
    op.run()
    clock.advance(hours=1)
    op.run()  # a due refresh patches the existing Secret
    used = {(r.group, r.resource, r.verb) for r in store.requests}
    assert ("", "secrets", "patch") in used and ("", "events", "create") in used

    (cluster_role,) = [d for d in manifests.rbac() if d["kind"] == "ClusterRole"]
    granted = {
        (group, resource, verb)
        for rule in cluster_role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert used <= granted, f"missing grants: {sorted(used - granted)}"
    # Granted but not called: only what the session Roles delegate (RBAC escalation check)
    # and the finalizers update that blockOwnerDeletion needs.
    session_role = store.get("rbac.authorization.k8s.io", "roles", NS, "ambient-session-s1")
    assert session_role is not None
    delegated = {
        (group, resource, verb)
        for rule in session_role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    assert delegated <= granted, "the operator cannot create a Role granting more than it holds"
    extra = granted - used - delegated
    assert extra == {(G, "agenticsessions/finalizers", "update")}


def test_no_token_value_reaches_logs_status_or_annotations(store: ObjectStoreApiServer, clock: Clock) -> None:
    add_session(store)
    op = Operator(store, clock, "--refresh-interval", "30s")
    for _ in range(4):
        op.run()
        clock.advance(seconds=31)
    # An API error that (hypothetically) echoes the token must still be redacted in the log.
    leaked = store.issued_tokens[-1]
    store.failures[("patch", "secrets")] = (500, f"cannot store {leaked}")
    assert op.run() == 1
    assert len(store.issued_tokens) == 5
    text = op.log
    assert f"<token:{fingerprint(leaked)}>" in text
    cr = store.get(G, contract.PLURAL, NS, "s1")
    secret = store.get("", "secrets", NS, "ambient-runner-token-s1")
    assert secret is not None
    visible = repr(cr) + repr(secret["metadata"]) + text
    for token in store.issued_tokens:
        assert token not in visible
        assert base64.b64encode(token.encode()).decode() not in text


def test_python_m_operator_stub_once_against_a_kubeconfig(tmp_path: Path) -> None:
    """The real program: kubeconfig loading, namespace-wide listing, exit codes, stderr lines."""
    with ObjectStoreApiServer().running() as store:
        add_session(store)
        kubeconfig = store.write_kubeconfig(tmp_path / "kubeconfig")
        argv = [sys.executable, "-m", "operator_stub", "--once", "--kubeconfig", str(kubeconfig)]
        argv += ["--backend-url", "http://198.18.0.1:8765", "--mode", "legacy-env"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=REPO)
        assert done.returncode == 0, done.stderr
        assert "operator event=started mode=legacy-env namespaces=*" in done.stderr
        assert "operator event=refreshed session=team-a/s1" in done.stderr
        assert store.requests[0].verb == "list" and store.requests[0].namespace == ""
        for token in store.issued_tokens:
            assert token not in done.stdout + done.stderr

        store.failures[("list", "agenticsessions")] = (403, "forbidden: operator lacks list")
        failed = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=REPO)
        assert failed.returncode == 1
        assert 'event=error session=* action="list sessions" status=403' in failed.stderr


def test_the_running_program_keeps_refreshing_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    """A continuous run: several rotations on a 1 s interval, then SIGTERM -> exit 0 with a last line."""
    with ObjectStoreApiServer().running() as store:
        add_session(store)
        argv = [
            sys.executable,
            "-m",
            "operator_stub",
            "--kubeconfig",
            str(store.write_kubeconfig(tmp_path / "kc")),
        ]
        argv += ["--backend-url", "http://198.18.0.1:8765", "--namespace", NS, "--check-period", "0.2s"]
        argv += ["--refresh-interval", "1s", "--token-expiration-seconds", "600"]
        proc = ManagedProcess(
            "operator", argv, tmp_path / "operator.log", tmp_path / "operator.pid", cwd=REPO
        )
        try:
            proc.start()
            wait_for(
                "three token rotations",
                lambda: (proc.check_alive(), store.token_requests())[1],
                lambda n: n >= 3,
                timeout=45,
            )
            os.kill(proc.pid or 0, signal.SIGTERM)
            code = wait_for("operator exit", proc.returncode, lambda rc: rc is not None, timeout=20)
        finally:
            proc.stop()
        assert code == 0
        log = proc.log.read_text()
        assert log.count("event=refreshed session=team-a/s1") >= 3
        assert log.rstrip().splitlines()[-1].startswith("operator event=stopped")
        for token in store.issued_tokens:
            assert token not in log


def test_an_unexpected_error_in_one_session_is_logged_by_type_only_and_spares_the_others(
    store: ObjectStoreApiServer, clock: Clock
) -> None:
    add_session(store, name="s1")
    add_session(store, name="s2")
    secret_text = "eyJhbGciOiJSUzI1NiJ9.quoted-by-an-exception.sig"
    calls = {"n": 0}

    def flaky_clock() -> datetime:
        calls["n"] += 1
        if calls["n"] == 1:  # the first session's planning step
            raise RuntimeError(f"model rejected input {secret_text}")
        return clock()

    stream = io.StringIO()
    api = kube.KubeApi(kube.client.ApiClient(kube.client.Configuration(host=store.url)))
    reconciler = Reconciler(api, operator_settings(), EventLog(stream, clock), flaky_clock)
    assert reconciler.reconcile_all() == 1
    text = stream.getvalue()
    assert "event=error session=team-a/s1 reason=RuntimeError where=test_operator_reconcile.py:" in text
    assert secret_text not in text and "model rejected" not in text
    assert store.get("batch", "jobs", NS, "s2-job") is not None, "s2 must be reconciled despite s1"
