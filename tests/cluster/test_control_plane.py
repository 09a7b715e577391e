"""Issue 3's proof: a real control plane issues, validates and revokes tokens."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from longhaul.fixtures.cluster import Cluster
from longhaul.fixtures.kube.clients import admin_client, raw_get, server_and_ca, token_client, whoami
from longhaul.fixtures.util.waiting import wait_for
from longhaul.tokens import fingerprint

pytestmark = pytest.mark.cluster


def _mint(core: client.CoreV1Api, ns: str, sa: str, seconds: int = 600) -> str:
    req = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=seconds)
    )
    return str(core.create_namespaced_service_account_token(sa, ns, req).status.token)


def test_api_server_is_healthy_and_reports_its_real_version(cluster: Cluster) -> None:
    api = admin_client(cluster.kubeconfig)
    info = client.VersionApi(api).get_code()
    assert info.git_version == cluster.k8s_version, info
    assert raw_get(api, "/readyz") == b"ok"


def test_namespace_serviceaccount_and_secret_round_trip(cluster: Cluster, namespace: str) -> None:
    core = client.CoreV1Api(admin_client(cluster.kubeconfig))
    core.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="sa"))
    )
    core.create_namespaced_secret(
        namespace, client.V1Secret(metadata=client.V1ObjectMeta(name="s"), string_data={"k": "v1"})
    )
    got = core.read_namespaced_secret("s", namespace)
    assert got.data == {"k": "djE="}
    assert core.read_namespaced_service_account("sa", namespace).metadata.name == "sa"


def test_token_request_token_authenticates_until_its_serviceaccount_is_recreated(
    cluster: Cluster, namespace: str
) -> None:
    core = client.CoreV1Api(admin_client(cluster.kubeconfig))
    core.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="bot"))
    )
    token = _mint(core, namespace, "bot")
    server, ca = server_and_ca(cluster.kubeconfig)
    as_token = token_client(server, ca, token)
    assert whoami(as_token) == f"system:serviceaccount:{namespace}:bot"
    review = client.AuthorizationV1Api(as_token).create_self_subject_access_review(
        client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(
                resource_attributes=client.V1ResourceAttributes(
                    namespace=namespace, verb="list", group="vteam.ambient-code", resource="agenticsessions"
                )
            )
        )
    )
    assert review.status.allowed is False  # authenticated, but no RBAC grants it yet

    core.delete_namespaced_service_account("bot", namespace)
    core.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="bot"))
    )

    def status() -> int:
        try:
            whoami(as_token)
            return 200
        except ApiException as exc:
            return int(exc.status)

    # The API server caches successful authentications for up to 10 s.
    wait_for(
        f"token {fingerprint(token)} to be rejected after SA recreation",
        status,
        lambda s: s == 401,
        timeout=30,
    )


def test_oidc_jwks_verifies_a_minted_token(cluster: Cluster, namespace: str) -> None:
    core = client.CoreV1Api(admin_client(cluster.kubeconfig))
    core.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="bot"))
    )
    token = _mint(core, namespace, "bot", seconds=600)
    admin = admin_client(cluster.kubeconfig)
    discovery = json.loads(raw_get(admin, "/.well-known/openid-configuration"))
    jwks = jwt.PyJWKSet.from_json(raw_get(admin, "/openid/v1/jwks").decode())
    header = jwt.get_unverified_header(token)
    key = next(k for k in jwks.keys if k.key_id == header["kid"])
    claims = jwt.decode(token, key=key.key, algorithms=["RS256"], audience=discovery["issuer"])
    assert claims["iss"] == discovery["issuer"]
    assert claims["exp"] - claims["iat"] == 600  # extend-token-expiration is off: exactly what was asked
    assert claims["iat"] <= time.time() + 5
