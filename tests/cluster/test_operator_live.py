"""The reference operator against a real API server, kube-controller-manager and kubelet.

Every test runs the operator as its own least-privilege ServiceAccount (the
shipped ``rbac.yaml``), so a call the grants miss fails here with a real 403;
tokens are minted, validated and revoked by the real API server; Jobs really
run, and the garbage collector really deletes what a session owned.
"""

from __future__ import annotations

import base64
import os
import re
import shlex
import signal
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException
from live_operator import G, LiveOperator, SessionView, may_list_sessions, operator_argv

from longhaul import contract
from longhaul.fixtures.cluster import Cluster
from longhaul.fixtures.engine.launch import STUB_OPERATOR_CMD, code_root, stub_env
from longhaul.fixtures.kube.clients import admin_client, server_and_ca, token_client, whoami
from longhaul.fixtures.kube.operator_identity import OperatorIdentity, granted, operator_identity
from longhaul.fixtures.rigs.api_calls import ApiCall
from longhaul.fixtures.util.procs import ComponentFailed, ManagedProcess
from longhaul.fixtures.util.waiting import wait_for
from longhaul.tokens import fingerprint, unverified_claims
from operator_stub.session import MAX_SESSION_NAME
from operator_stub.token_secret import format_rfc3339, parse_rfc3339

pytestmark = pytest.mark.cluster

SA, SECRET, JOB = (contract.service_account_name("s1"), contract.secret_name("s1"), contract.job_name("s1"))
CHILDREN = [("ServiceAccount", SA), ("Role", SA), ("RoleBinding", SA), ("Secret", SECRET), ("Job", JOB)]
JWT = re.compile(r"eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,}")
# The API server caches a successful authentication for up to 10 s.
REVOCATION_SECONDS = 20


@pytest.fixture()
def identity(
    cluster: Cluster, namespace: str, session_crd: str, tmp_path: Path
) -> Iterator[OperatorIdentity]:
    with operator_identity(
        admin_client(cluster.kubeconfig), cluster.kubeconfig, namespace, tmp_path
    ) as found:
        yield found


@pytest.fixture()
def view(cluster: Cluster, namespace: str, session_crd: str) -> SessionView:
    return SessionView(admin_client(cluster.kubeconfig), namespace)


@pytest.fixture()
def make_operator(identity: OperatorIdentity, runner_image: str) -> Callable[..., LiveOperator]:
    def make(*argv: str, clock: Callable[[], datetime] | None = None) -> LiveOperator:
        return LiveOperator(identity, runner_image, *argv, clock=clock)

    return make


def as_token(cluster: Cluster, token: str) -> client.ApiClient:
    server, ca = server_and_ca(cluster.kubeconfig)
    return token_client(server, ca, token)


def authentication_status(cluster: Cluster, token: str) -> int:
    try:
        whoami(as_token(cluster, token))
        return 200
    except ApiException as exc:
        return int(exc.status)


def wait_rejected(cluster: Cluster, token: str) -> None:
    wait_for(
        f"the API server to reject token {fingerprint(token)}",
        lambda: authentication_status(cluster, token),
        lambda status: status == 401,
        timeout=REVOCATION_SECONDS,
    )


def test_first_pass_creates_every_child_in_contract_shape(
    cluster: Cluster, namespace: str, view: SessionView, make_operator: Callable[..., LiveOperator]
) -> None:
    cr = view.add(env={"RUNNER_MESSAGES": "20"})
    op = make_operator()
    started = datetime.now(UTC).replace(microsecond=0)
    assert op.run() == 0, op.log

    children = {kind: view.must_read(kind, name) for kind, name in CHILDREN}
    for kind, child in children.items():
        (owner,) = child["metadata"]["ownerReferences"]
        assert (owner["uid"], owner["controller"]) == (cr["metadata"]["uid"], True), kind
    token = view.token(SECRET)
    session_client = as_token(cluster, token)
    assert whoami(session_client) == f"system:serviceaccount:{namespace}:{SA}"
    assert may_list_sessions(session_client, namespace), "the session Role grants what the backend checks"
    assert not may_list_sessions(session_client, "default")

    notes = children["Secret"]["metadata"]["annotations"]
    refreshed_at = parse_rfc3339(notes[contract.REFRESHED_AT_ANNOTATION])
    assert refreshed_at is not None and started <= refreshed_at <= datetime.now(UTC)
    assert notes["ambient-code.io/service-account-uid"] == children["ServiceAccount"]["metadata"]["uid"]
    expires = format_rfc3339(datetime.fromtimestamp(unverified_claims(token)["exp"], UTC))
    assert notes["ambient-code.io/token-expires-at"] == expires
    container = children["Job"]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["BOT_TOKEN_PATH"] == "/app/runner-token/k8s-token"
    assert env["WEBSOCKET_URL"] == f"ws://198.18.0.1:8765/api/projects/{namespace}/sessions/s1/ws"
    assert env["RUNNER_MESSAGES"] == "20"
    status = view.status()
    assert status["phase"] == "Creating"
    assert status["tokenFingerprint"] == fingerprint(token)
    (refreshed,) = op.events("refreshed")
    assert f"fp={fingerprint(token)}" in refreshed and "reason=secret-missing" in refreshed
    assert f"expires={expires}" in refreshed
    assert len(view.rotations()) == 1


@pytest.mark.node
def test_status_follows_the_real_job_and_finished_sessions_are_left_alone(
    view: SessionView, make_operator: Callable[..., LiveOperator]
) -> None:
    view.add("ok")
    view.add("bad", backoffLimit=0)
    op = make_operator()

    def phases() -> dict[str, str | None]:
        op.run()
        return {name: view.status(name).get("phase") for name in ("ok", "bad")}

    wait_for("both runners to run", phases, lambda p: p == {"ok": "Running", "bad": "Running"}, timeout=90)
    assert len([line for line in op.events("phase") if "phase=Running" in line]) == 2
    view.set_exit_code(contract.secret_name("ok"), 0)
    view.set_exit_code(contract.secret_name("bad"), 3)
    wait_for("the Jobs to finish", phases, lambda p: p == {"ok": "Completed", "bad": "Failed"}, timeout=90)
    assert "BackoffLimitExceeded" in view.status("bad")["message"]

    # Five hours later (by its clock) every token would be due, and the Job is gone: a finished
    # session is still neither refreshed nor resurrected.  The pass only lists.
    view.delete("Job", contract.job_name("ok"))
    wait_for(
        "the Job to be gone",
        lambda: view.read("Job", contract.job_name("ok")),
        lambda j: j is None,
        timeout=30,
    )
    later = make_operator(clock=lambda: datetime.now(UTC) + timedelta(hours=5))
    assert later.run() == 0, later.log
    assert later.api.calls == [ApiCall("list", G, contract.PLURAL, view.namespace)]


def test_a_restarted_operator_adopts_its_sessions_and_refreshes_on_the_secrets_schedule(
    view: SessionView, make_operator: Callable[..., LiveOperator]
) -> None:
    view.add()
    make_operator("--refresh-interval", "5s").run()
    first = view.token(SECRET)
    minted_at = view.must_read("Secret", SECRET)["metadata"]["annotations"][contract.REFRESHED_AT_ANNOTATION]
    job_uid = view.must_read("Job", JOB)["metadata"]["uid"]

    restarted = make_operator("--refresh-interval", "5s", "--check-period", "1s")
    assert restarted.run() == 0, restarted.log
    assert view.token(SECRET) == first, "a fresh token must not be re-minted just because we restarted"
    assert len(view.rotations()) == 1
    minted = parse_rfc3339(minted_at)
    assert minted is not None
    due = minted + timedelta(seconds=5)
    (adopted,) = restarted.events("adopted")
    assert f"fp={fingerprint(first)}" in adopted and f"due={format_rfc3339(due)}" in adopted

    second = wait_for(
        "the due refresh",
        lambda: (restarted.run(), view.token(SECRET))[1],
        lambda token: token != first,
        timeout=30,
        interval=0.5,
        describe=lambda _: restarted.log.splitlines()[-2:],
    )
    (refreshed,) = restarted.events("refreshed")
    assert "reason=due" in refreshed and f"fp={fingerprint(second)}" in refreshed
    secret = view.must_read("Secret", SECRET)
    refreshed_at = secret["metadata"]["annotations"][contract.REFRESHED_AT_ANNOTATION]
    assert (parse_rfc3339(refreshed_at) or minted) >= due
    status = view.status()
    assert (status["tokenFingerprint"], status["tokenRefreshedAt"]) == (fingerprint(second), refreshed_at)
    assert len(view.rotations()) == 2
    assert view.must_read("Job", JOB)["metadata"]["uid"] == job_uid
    assert not [c for c in restarted.api.calls if c.verb == "create" and c.resource == "jobs"]


def test_a_deleted_secret_or_replaced_service_account_gets_a_new_token_and_the_old_one_dies(
    cluster: Cluster, view: SessionView, make_operator: Callable[..., LiveOperator]
) -> None:
    view.add()
    op = make_operator()
    op.run()
    first = view.token(SECRET)
    view.delete("Secret", SECRET)
    op.run()
    second = view.token(SECRET)
    assert second != first and "reason=secret-missing" in op.events("refreshed")[-1]
    assert authentication_status(cluster, second) == 200

    view.delete("ServiceAccount", SA)
    op.run()
    third = view.token(SECRET)
    assert "reason=service-account-missing" in op.events("refreshed")[-1]
    sa_uid = view.must_read("ServiceAccount", SA)["metadata"]["uid"]
    notes = view.must_read("Secret", SECRET)["metadata"]["annotations"]
    assert notes["ambient-code.io/service-account-uid"] == sa_uid
    assert authentication_status(cluster, third) == 200

    # Replaced behind the operator's back between two passes: the UID on record no longer matches.
    view.delete("ServiceAccount", SA)
    view.core.create_namespaced_service_account(view.namespace, {"metadata": {"name": SA}})
    op.run()
    fourth = view.token(SECRET)
    assert "reason=service-account-replaced" in op.events("refreshed")[-1]
    assert authentication_status(cluster, fourth) == 200
    # Both earlier tokens were accepted moments ago; each SA deletion must now end them.
    wait_rejected(cluster, second)
    wait_rejected(cluster, third)
    assert len({first, second, third, fourth}) == 4 and len(view.rotations()) == 4
    assert len([c for c in op.api.calls if c.verb == "create" and c.resource == "jobs"]) == 1


def test_custom_secret_name_and_upstream_mode(
    view: SessionView, make_operator: Callable[..., LiveOperator]
) -> None:
    view.add(annotations={contract.SECRET_NAME_ANNOTATION: "my-token"})
    assert make_operator("--mode", "upstream").run() == 0
    assert view.read("Secret", "my-token") is not None
    assert view.read("Secret", SECRET) is None
    pod = view.must_read("Job", JOB)["spec"]["template"]["spec"]
    (volume,) = pod["volumes"]
    assert volume["secret"]["secretName"] == "my-token"
    assert volume["secret"]["items"] == [{"key": "k8s-token", "path": "bot-token"}]
    (mount,) = pod["containers"][0]["volumeMounts"]
    assert (mount["mountPath"], mount["readOnly"], mount.get("subPath")) == (
        "/var/run/secrets/ambient",
        True,
        None,
    )
    assert "BOT_TOKEN_PATH" not in {e["name"] for e in pod["containers"][0]["env"]}


def test_an_invalid_session_is_failed_once_with_the_reason_and_gets_no_children(
    view: SessionView, make_operator: Callable[..., LiveOperator]
) -> None:
    # The CRD refuses names whose Job name would not fit a label; the operator's limit is the same.
    with pytest.raises(ApiException) as refused:
        view.add("x" * (MAX_SESSION_NAME + 1))
    assert refused.value.status == 422 and "at most 59" in str(refused.value.body)
    view.add(env={"BOT_TOKEN_PATH": "/elsewhere"})  # valid for the CRD, not for the contract
    op = make_operator()
    op.run()
    op.run()
    status = view.status()
    assert status["phase"] == "Failed" and "may not set BOT_TOKEN_PATH" in status["message"]
    assert len(op.events("rejected")) == 1
    assert not [c for c in op.api.calls if c.verb == "create"]
    assert view.read("ServiceAccount", SA) is None


def test_the_longest_name_the_crd_accepts_gets_a_running_job(
    view: SessionView, make_operator: Callable[..., LiveOperator]
) -> None:
    name = "y" * MAX_SESSION_NAME
    view.add(name)
    assert make_operator().run() == 0
    job = contract.job_name(name)
    assert len(job) == 63 and view.read("Job", job) is not None
    wait_for(f"a pod of Job {job}", lambda: view.pods_of_job(job), timeout=30)


def test_the_operators_rbac_grants_every_call_it_makes_and_nothing_it_neither_makes_nor_delegates(
    view: SessionView, identity: OperatorIdentity, make_operator: Callable[..., LiveOperator]
) -> None:
    view.add()
    op = make_operator("--refresh-interval", "2s")
    op.run()
    view.delete("Secret", SECRET)
    op.run()  # creates the Secret again
    wait_for(
        "a due refresh (patches the Secret)",
        lambda: (op.run(), op.events("refreshed"))[1],
        lambda lines: "reason=due" in lines[-1],
        timeout=20,
        interval=0.5,
    )
    # A Secret someone made immutable can only be replaced: the one call that needs "delete".
    view.core.patch_namespaced_secret(SECRET, view.namespace, {"immutable": True})
    wait_for(
        "the immutable Secret replaced",
        lambda: (op.run(), op.events("replaced-immutable"))[1],
        bool,
        timeout=20,
        interval=0.5,
    )
    assert not op.events("error") and not op.events("warning"), op.log
    used = {(c.group, c.resource, c.verb) for c in op.api.calls}
    assert ("", "secrets", "patch") in used and ("", "events", "create") in used
    assert ("", "secrets", "delete") in used
    assert used <= identity.grants, f"missing grants: {sorted(used - identity.grants)}"
    # Granted but not called: only what the session Roles delegate (RBAC escalation check)
    # and the finalizers update that blockOwnerDeletion needs.
    delegated = granted(view.must_read("Role", SA)["rules"])
    assert delegated <= identity.grants, "the operator cannot create a Role granting more than it holds"
    assert identity.grants - used - delegated == {(G, "agenticsessions/finalizers", "update")}


def test_no_token_value_reaches_logs_status_annotations_or_events(
    view: SessionView, make_operator: Callable[..., LiveOperator]
) -> None:
    view.add()
    op = make_operator()
    tokens = []
    for removed in ("Secret", "ServiceAccount", None):
        op.run()
        tokens.append(view.token(SECRET))
        if removed:
            view.delete(removed, SECRET if removed == "Secret" else SA)
    # Should an API error ever quote a token the operator minted, its log prints the fingerprint.
    for token in tokens:
        op.eventlog.emit("error", "quoting", message=f"cannot store {token}")
        assert f'message="cannot store <token:{fingerprint(token)}>"' in op.log.splitlines()[-1]
    secret = view.must_read("Secret", SECRET)
    visible = "\n".join([op.log, repr(view.session()), repr(secret["metadata"]), *view.rotations()])
    assert len(set(tokens)) == 3
    for token in tokens:
        assert token not in visible
        assert base64.b64encode(token.encode()).decode() not in visible
        assert f"fp={fingerprint(token)}" in op.log
    assert not JWT.findall(visible)


def test_the_program_runs_a_pass_as_its_own_least_privileged_identity(
    namespace: str, view: SessionView, identity: OperatorIdentity, runner_image: str
) -> None:
    """``python -m operator_stub --once`` with the operator's kubeconfig: loading, listing, exit codes."""
    view.add()
    flags = operator_argv(namespace, runner_image, "--mode", "legacy-env")
    argv = [*shlex.split(STUB_OPERATOR_CMD), "--once", "--kubeconfig", str(identity.kubeconfig), *flags]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, cwd=code_root(), env=stub_env())
    assert done.returncode == 0, done.stderr
    assert f"operator event=started mode=legacy-env namespaces={namespace}" in done.stderr
    assert f"operator event=refreshed session={namespace}/s1" in done.stderr
    assert "event=error" not in done.stderr and "event=warning" not in done.stderr
    env = {
        e["name"]: e for e in view.must_read("Job", JOB)["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["BOT_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": SECRET, "key": "k8s-token"}
    assert view.token(SECRET) not in done.stdout + done.stderr

    # Without --namespace it lists every namespace, which this identity may not: a real 403.
    cluster_wide = [a for a in argv if a not in ("--namespace", namespace)]
    failed = subprocess.run(
        cluster_wide, capture_output=True, text=True, timeout=60, cwd=code_root(), env=stub_env()
    )
    assert failed.returncode == 1, failed.stderr
    assert 'event=error session=* action="list sessions" status=403' in failed.stderr


def test_the_running_program_keeps_refreshing_and_stops_cleanly_on_sigterm(
    namespace: str, view: SessionView, identity: OperatorIdentity, runner_image: str, tmp_path: Path
) -> None:
    view.add()
    flags = operator_argv(namespace, runner_image, "--check-period", "0.2s", "--refresh-interval", "1s")
    argv = [*shlex.split(STUB_OPERATOR_CMD), "--kubeconfig", str(identity.kubeconfig), *flags]
    proc = ManagedProcess("operator", argv, tmp_path / "operator.log", tmp_path / "operator.pid",
                          env=stub_env(), cwd=code_root())  # fmt: skip
    seen: set[str] = set()

    def rotations() -> int:
        proc.check_alive()
        if view.read("Secret", SECRET):
            seen.add(view.token(SECRET))
        return len(view.rotations())

    try:
        proc.start()
        wait_for("three token rotations", rotations, lambda n: n >= 3, timeout=45, fatal=(ComponentFailed,))
        os.kill(proc.pid or 0, signal.SIGTERM)
        code = wait_for("operator exit", proc.returncode, lambda rc: rc is not None, timeout=20)
    finally:
        proc.stop()
    assert code == 0
    log = proc.log.read_text()
    assert log.count(f"event=refreshed session={namespace}/s1") >= 3
    assert log.rstrip().splitlines()[-1].startswith("operator event=stopped")
    assert seen and not [t for t in seen if t in log] and not JWT.findall(log)


def test_an_unexpected_error_in_one_session_is_logged_by_type_only_and_spares_the_others(
    view: SessionView, make_operator: Callable[..., LiveOperator]
) -> None:
    view.add("s1")
    view.add("s2")
    secret_text = "eyJhbGciOiJSUzI1NiJ9.quoted-by-an-exception.sig"
    calls = {"n": 0}

    def flaky_clock() -> datetime:
        calls["n"] += 1
        if calls["n"] == 1:  # the first session's planning step
            raise RuntimeError(f"model rejected input {secret_text}")
        return datetime.now(UTC)

    op = make_operator(clock=flaky_clock)
    assert op.run() == 1
    assert (
        f"event=error session={view.namespace}/s1 reason=RuntimeError where=test_operator_live.py:" in op.log
    )
    assert secret_text not in op.log and "model rejected" not in op.log
    assert view.read("Job", contract.job_name("s2")) is not None, "s2 must be reconciled despite s1"


def test_deleting_the_session_lets_the_garbage_collector_remove_every_child(
    view: SessionView, make_operator: Callable[..., LiveOperator]
) -> None:
    view.add()
    assert make_operator().run() == 0
    assert all(view.read(kind, name) for kind, name in CHILDREN)
    view.delete_session()

    def left() -> list[str]:
        objects = [f"{kind}/{name}" for kind, name in CHILDREN if view.read(kind, name) is not None]
        return objects + [f"Pod/{pod}" for pod in view.pods_of_job(JOB)]

    # Quick once the garbage collector knows the CRD; a CRD installed moments ago may wait for
    # its discovery resync (30 s).
    wait_for("the garbage collector to delete every child", left, lambda names: names == [], timeout=90)
