"""``backend_stub --auth kube`` judged by a real API server, with real TokenRequest tokens.

The backend asks, *with the caller's token*, whether it may list
AgenticSessions in the namespace (a SelfSubjectAccessReview), exactly as the
upstream backend does.  So RBAC, a recreated ServiceAccount and a garbage
token are decided by the real authenticator and authorizer here, not by a
stand-in; the CRD is installed so the question names a served resource.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from backend_helpers import assert_runner_delivers, handshake
from kubernetes import client

from longhaul.contract import GROUP, PLURAL
from longhaul.fixtures.cluster import Cluster
from longhaul.fixtures.engine.leak_scan import scan_for_tokens
from longhaul.fixtures.kube.clients import admin_client, request_token, server_and_ca
from longhaul.fixtures.rigs.stub_processes import BackendProcess
from longhaul.fixtures.rigs.tls import self_signed_cert
from longhaul.fixtures.util.waiting import wait_for
from longhaul.tokens import fingerprint

pytestmark = pytest.mark.cluster

INVALID = "Token expired or invalid"


@dataclass
class Accounts:
    """ServiceAccounts in one namespace and every token minted for them (for the leak scan)."""

    api: client.ApiClient
    namespace: str
    minted: list[str] = field(default_factory=list)

    def create(self, name: str, *, may_list_sessions: bool) -> None:
        core, rbac = client.CoreV1Api(self.api), client.RbacAuthorizationV1Api(self.api)
        core.create_namespaced_service_account(self.namespace, {"metadata": {"name": name}})
        if not may_list_sessions:
            return
        rule = {"apiGroups": [GROUP], "resources": [PLURAL], "verbs": ["list"]}
        rbac.create_namespaced_role(self.namespace, {"metadata": {"name": name}, "rules": [rule]})
        binding = {
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": self.namespace}],
        }
        rbac.create_namespaced_role_binding(self.namespace, binding)

    def recreate(self, name: str) -> None:
        """Delete and create the ServiceAccount again: same name, new UID (its Role binding still applies)."""
        core = client.CoreV1Api(self.api)
        core.delete_namespaced_service_account(name, self.namespace)
        core.create_namespaced_service_account(self.namespace, {"metadata": {"name": name}})

    def token(self, name: str) -> str:
        token = request_token(self.api, self.namespace, name)
        self.minted.append(token)
        return token


@pytest.fixture()
def accounts(cluster: Cluster, namespace: str, session_crd: str) -> Accounts:
    return Accounts(admin_client(cluster.kubeconfig), namespace)


@pytest.fixture()
def backend(cluster: Cluster, accounts: Accounts, tmp_path: Path) -> Iterator[BackendProcess]:
    """The backend pointed at the cluster's API server; afterwards no minted token may be in its files."""
    process = kube_backend(cluster, tmp_path / "logs")
    try:
        yield process.start()
    finally:
        process.stop()
    leaks = scan_for_tokens([tmp_path / "logs"], accounts.minted)
    assert not leaks, "token values leaked: " + "; ".join(map(str, leaks))


def kube_backend(cluster: Cluster, logs: Path, ca_file: str | None = None) -> BackendProcess:
    server, ca = server_and_ca(cluster.kubeconfig)
    ca = ca_file or ca
    return BackendProcess(
        logs, args=["--auth", "kube", "--kube-api", server, *(["--kube-ca", ca] if ca else [])]
    )


def test_a_token_allowed_to_list_sessions_is_accepted_and_its_runner_delivers(
    accounts: Accounts, backend: BackendProcess, namespace: str, tmp_path: Path
) -> None:
    accounts.create("reader", may_list_sessions=True)
    token = accounts.token("reader")
    assert_runner_delivers(backend, namespace, token, tmp_path)
    # RBAC is per namespace: the same valid token may not talk about another namespace's sessions.
    assert handshake(backend.url("default", "s2"), token) == (
        403,
        f"not allowed to list {PLURAL}.{GROUP} in namespace default",
    )


def test_a_valid_token_without_the_permission_is_forbidden(
    accounts: Accounts, backend: BackendProcess, namespace: str
) -> None:
    accounts.create("outsider", may_list_sessions=False)
    token = accounts.token("outsider")
    assert handshake(backend.url(namespace, "s1"), token) == (
        403,
        f"not allowed to list {PLURAL}.{GROUP} in namespace {namespace}",
    )
    (rejected,) = backend.evidence("s1").handshakes
    assert (rejected.status, rejected.token_fp) == (403, fingerprint(token))
    assert rejected.exp is not None and rejected.iat is not None and rejected.exp - rejected.iat == 600


def test_the_token_of_a_recreated_service_account_is_expired_or_invalid(
    accounts: Accounts, backend: BackendProcess, namespace: str
) -> None:
    accounts.create("reader", may_list_sessions=True)
    token = accounts.token("reader")
    url = backend.url(namespace, "s1")
    assert handshake(url, token) == (101, "")
    accounts.recreate("reader")
    # The API server caches a successful authentication for up to 10 s.
    wait_for(
        f"the backend to refuse token {fingerprint(token)}",
        lambda: handshake(url, token),
        lambda answer: answer == (401, INVALID),
        timeout=20,
        interval=0.5,
    )
    assert handshake(url, accounts.token("reader")) == (101, ""), "a token of the new ServiceAccount works"


def test_no_token_or_a_forged_one_is_unauthorized(
    accounts: Accounts, backend: BackendProcess, namespace: str
) -> None:
    accounts.create("reader", may_list_sessions=True)
    genuine = accounts.token("reader")
    header, claims, signature = genuine.split(".")
    forged = f"{header}.{claims}.{signature[::-1]}"  # same claims, broken signature
    accounts.minted.append(forged)
    url = backend.url(namespace, "s1")
    assert handshake(url, None) == (401, "Authorization required")
    assert handshake(url, forged) == (401, INVALID)
    assert handshake(url, "not-a-token") == (401, INVALID)
    statuses = [(h.status, h.token_fp) for h in backend.evidence("s1").handshakes]
    assert statuses == [(401, None), (401, fingerprint(forged)), (401, fingerprint("not-a-token"))]


def test_the_ledger_and_log_name_tokens_by_fingerprint_only(
    accounts: Accounts, backend: BackendProcess, namespace: str
) -> None:
    accounts.create("reader", may_list_sessions=True)
    accounts.create("outsider", may_list_sessions=False)
    allowed, denied = accounts.token("reader"), accounts.token("outsider")
    url = backend.url(namespace, "s1")
    assert [handshake(url, allowed)[0], handshake(url, denied)[0]] == [101, 403]
    ledger = backend.ledger_path.read_text()
    log = backend.log.read_text()
    for token in (allowed, denied):
        assert fingerprint(token) in ledger and fingerprint(token) in log
        assert not scan_for_tokens([backend.ledger_path, backend.log], [token])


def test_an_api_server_the_backend_cannot_verify_gets_no_token_and_the_caller_a_502(
    cluster: Cluster, accounts: Accounts, namespace: str, tmp_path: Path
) -> None:
    """With a CA that did not sign the API server's certificate, TLS fails before any token is sent."""
    accounts.create("reader", may_list_sessions=True)
    token = accounts.token("reader")
    unrelated_ca, _ = self_signed_cert(tmp_path, "not-the-cluster-ca")  # its own CA, signed nothing else
    stranger = kube_backend(cluster, tmp_path / "logs", ca_file=str(unrelated_ca))
    try:
        status, body = handshake(stranger.start().url(namespace, "s1"), token)
    finally:
        stranger.stop()
    # URLError wraps the certificate verification failure: the request (and its token) never left.
    assert (status, body) == (502, "access review failed: URLError")
    assert not scan_for_tokens([tmp_path / "logs"], [token])
