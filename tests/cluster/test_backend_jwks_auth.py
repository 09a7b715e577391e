"""``backend_stub --auth jwks`` against a real cluster's key set and real TokenRequest tokens.

The backend fetches the API server's ``/openid/v1/jwks`` with a
ServiceAccount token (readable by every ServiceAccount through the built-in
``system:service-account-issuer-discovery`` ClusterRole) and verifies each
handshake's token offline: signature by ``kid``, ``exp``/``nbf``, the
cluster's issuer, and the audience when asked.  The last test pins down the
price of verifying offline: a recreated ServiceAccount's old token, which the
API server refuses, still verifies here; that is why ``--auth kube`` exists.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from backend_helpers import assert_runner_delivers, handshake
from kubernetes import client
from kubernetes.client.rest import ApiException

from longhaul.contract import GROUP, PLURAL
from longhaul.fixtures.cluster import Cluster
from longhaul.fixtures.engine.leak_scan import scan_for_tokens
from longhaul.fixtures.kube.clients import (
    admin_client,
    raw_get,
    request_token,
    server_and_ca,
    token_client,
    whoami,
)
from longhaul.fixtures.rigs.stub_processes import BackendProcess
from longhaul.fixtures.util.procs import ComponentFailed
from longhaul.fixtures.util.waiting import wait_for
from longhaul.logfmt import parse_line
from longhaul.tokens import fingerprint, unverified_claims

pytestmark = pytest.mark.cluster

INVALID = "Token expired or invalid"


@dataclass
class ClusterKeys:
    """Where a cluster publishes its ServiceAccount keys, and every token minted in the test."""

    api: client.ApiClient
    namespace: str
    server: str
    ca: str | None
    issuer: str
    fetch_token_file: Path
    minted: list[str] = field(default_factory=list)

    @property
    def jwks_url(self) -> str:
        return self.server.rstrip("/") + "/openid/v1/jwks"

    def service_account(self, name: str) -> None:
        client.CoreV1Api(self.api).create_namespaced_service_account(
            self.namespace, {"metadata": {"name": name}}
        )

    def recreate(self, name: str) -> None:
        """Delete and create the ServiceAccount again: same name, new UID."""
        client.CoreV1Api(self.api).delete_namespaced_service_account(name, self.namespace)
        self.service_account(name)

    def token(self, name: str, audiences: tuple[str, ...] = ()) -> str:
        token = request_token(self.api, self.namespace, name, audiences=audiences)
        self.minted.append(token)
        return token

    def backend_args(self, *, token_file: bool = True) -> list[str]:
        return [
            "--auth",
            "jwks",
            "--jwks-url",
            self.jwks_url,
            *(["--jwks-ca-file", self.ca] if self.ca else []),
            *(["--jwks-token-file", str(self.fetch_token_file)] if token_file else []),
            "--issuer",
            self.issuer,
        ]


@pytest.fixture()
def keys(cluster: Cluster, namespace: str, tmp_path: Path) -> ClusterKeys:
    api = admin_client(cluster.kubeconfig)
    server, ca = server_and_ca(cluster.kubeconfig)
    discovery = json.loads(raw_get(api, "/.well-known/openid-configuration"))
    found = ClusterKeys(api, namespace, server, ca, discovery["issuer"], tmp_path / "jwks-reader-token")
    found.service_account("jwks-reader")
    fd = os.open(found.fetch_token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(found.token("jwks-reader"))
    return found


@pytest.fixture()
def start_backend(keys: ClusterKeys, tmp_path: Path) -> Iterator[Callable[..., BackendProcess]]:
    """Start jwks backends (extra flags as arguments); afterwards no minted token may be in any log."""
    started: list[BackendProcess] = []

    def start(*extra: str, name: str = "backend") -> BackendProcess:
        process = BackendProcess(tmp_path / "logs", args=[*keys.backend_args(), *extra], name=name)
        started.append(process)
        return process.start()

    try:
        yield start
    finally:
        for process in started:
            process.stop()
    leaks = scan_for_tokens([tmp_path / "logs"], keys.minted)
    assert not leaks, "token values leaked: " + "; ".join(map(str, leaks))


def tampered(token: str) -> str:
    header, claims, signature = token.split(".")
    return f"{header}.{claims}.{signature[::-1]}"  # same kid and claims, broken signature


def test_a_real_token_verifies_against_the_clusters_keys_and_its_runner_delivers(
    keys: ClusterKeys, start_backend: Callable[..., BackendProcess], namespace: str, tmp_path: Path
) -> None:
    backend = start_backend()
    loaded = [
        e for e in map(parse_line, backend.log.read_text().splitlines()) if e.get("event") == "jwks_loaded"
    ]
    assert loaded and int(loaded[0]["keys"]) >= 1 and loaded[0]["source"] == keys.jwks_url
    keys.service_account("runner")
    token = keys.token("runner")
    assert_runner_delivers(backend, namespace, token, tmp_path)
    # A ServiceAccount of this namespace may not talk about another namespace's sessions.
    assert handshake(backend.url("default", "s2"), token) == (
        403,
        f"not allowed to list {PLURAL}.{GROUP} in namespace default",
    )


def test_a_tampered_signature_a_garbage_token_or_none_is_unauthorized(
    keys: ClusterKeys, start_backend: Callable[..., BackendProcess], namespace: str
) -> None:
    backend = start_backend()
    keys.service_account("runner")
    forged = tampered(keys.token("runner"))
    keys.minted.append(forged)
    url = backend.url(namespace, "s1")
    assert handshake(url, forged) == (401, INVALID)
    assert handshake(url, "not-a-token") == (401, INVALID)
    assert handshake(url, None) == (401, "Authorization required")
    statuses = [(h.status, h.token_fp) for h in backend.evidence("s1").handshakes]
    assert statuses == [(401, fingerprint(forged)), (401, fingerprint("not-a-token")), (401, None)]


def test_a_token_for_another_audience_is_refused_when_an_audience_is_required(
    keys: ClusterKeys, start_backend: Callable[..., BackendProcess], namespace: str
) -> None:
    keys.service_account("runner")
    own = keys.token("runner")
    foreign = keys.token("runner", audiences=("some-other-backend",))
    (cluster_audience, *_) = unverified_claims(own)["aud"]
    strict = start_backend("--audience", cluster_audience, name="strict")
    lenient = start_backend(name="lenient")
    assert handshake(strict.url(namespace, "s1"), own) == (101, "")
    assert handshake(strict.url(namespace, "s1"), foreign) == (401, INVALID)
    assert handshake(lenient.url(namespace, "s1"), foreign) == (101, ""), "the check is the flag's doing"


def test_a_token_from_another_issuer_is_refused(
    keys: ClusterKeys, start_backend: Callable[..., BackendProcess], namespace: str
) -> None:
    backend = start_backend("--issuer", "https://not-this-cluster.example")
    keys.service_account("runner")
    assert handshake(backend.url(namespace, "s1"), keys.token("runner")) == (401, INVALID)


def test_the_ledger_and_log_name_tokens_by_fingerprint_only(
    keys: ClusterKeys, start_backend: Callable[..., BackendProcess], namespace: str
) -> None:
    backend = start_backend()
    keys.service_account("runner")
    accepted = keys.token("runner")
    refused = tampered(keys.token("runner"))
    keys.minted.append(refused)
    url = backend.url(namespace, "s1")
    assert [handshake(url, accepted)[0], handshake(url, refused)[0]] == [101, 401]
    ledger, log = backend.ledger_path.read_text(), backend.log.read_text()
    for token in (accepted, refused):
        assert fingerprint(token) in ledger and fingerprint(token) in log
    # Every token of the test, including the one the backend fetched the key set with.
    assert not scan_for_tokens([backend.ledger_path, backend.log], keys.minted)


def test_without_a_token_to_fetch_the_key_set_the_backend_refuses_to_start(
    keys: ClusterKeys, tmp_path: Path
) -> None:
    backend = BackendProcess(tmp_path / "logs", args=keys.backend_args(token_file=False))
    try:
        with pytest.raises(ComponentFailed):
            backend.start()
    finally:
        backend.stop()
    lines = backend.log.read_text().splitlines()
    assert any(
        line.startswith(f"backend_stub: error: GET {keys.jwks_url}: HTTP 40")
        and "needs --jwks-token-file" in line
        for line in lines
    ), lines[-3:]
    assert backend.process is not None and backend.process.returncode() == 2


def test_offline_verification_cannot_see_a_recreated_service_account(
    keys: ClusterKeys, start_backend: Callable[..., BackendProcess], namespace: str
) -> None:
    """The API server refuses the old token at once; a signature check accepts it until exp."""
    backend = start_backend()
    keys.service_account("runner")
    token = keys.token("runner")
    url = backend.url(namespace, "s1")
    assert handshake(url, token) == (101, "")
    keys.recreate("runner")

    def api_server_answer() -> int:
        try:
            whoami(token_client(keys.server, keys.ca, token))
        except ApiException as exc:
            return int(exc.status)
        return 200

    # The API server caches a successful authentication for up to 10 s.
    wait_for(
        f"the API server to refuse token {fingerprint(token)}",
        api_server_answer,
        lambda status: status == 401,
        timeout=20,
        interval=0.5,
    )
    assert handshake(url, token) == (101, ""), "jwks still accepts it: revocation needs --auth kube"
