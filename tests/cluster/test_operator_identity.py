"""The identity the e2e operator runs as can do its job in its namespace and nothing outside it.

The same ``operator_identity`` the scenario platform uses; asked the way
``kubectl auth can-i`` asks (a SelfSubjectAccessReview made with the
operator's own kubeconfig), so the API server's authorizer is the judge.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client, config

from longhaul import contract
from longhaul.fixtures.cluster import Cluster
from longhaul.fixtures.kube.clients import admin_client
from longhaul.fixtures.kube.operator_identity import operator_identity

pytestmark = pytest.mark.cluster


def can_i(api: client.ApiClient, verb: str, resource: str, namespace: str, group: str = "") -> bool:
    attributes = client.V1ResourceAttributes(namespace=namespace, verb=verb, group=group, resource=resource)
    review = client.AuthorizationV1Api(api).create_self_subject_access_review(
        client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=attributes)
        )
    )
    return bool(review.status.allowed)


def test_the_operator_identity_reaches_secrets_in_its_namespace_only(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    admin = admin_client(cluster.kubeconfig)
    other = (
        client.CoreV1Api(admin)
        .create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(generate_name="t-other-")))
        .metadata.name
    )
    try:
        with operator_identity(admin, cluster.kubeconfig, namespace, tmp_path) as identity:
            me = config.new_client_from_config(config_file=str(identity.kubeconfig))
            for verb in ("get", "create", "patch"):
                assert can_i(me, verb, "secrets", namespace), f"cannot {verb} secrets in its own namespace"
            assert can_i(me, "create", "serviceaccounts/token", namespace)
            assert can_i(me, "watch", contract.PLURAL, namespace, contract.GROUP)
            for verb in ("get", "list", "watch"):
                assert not can_i(me, verb, "secrets", other), f"may {verb} secrets in {other}"
                assert not can_i(me, verb, "secrets", "kube-system"), f"may {verb} secrets in kube-system"
            assert not can_i(me, "create", "serviceaccounts/token", other)
            assert not can_i(me, "create", "clusterrolebindings", "", "rbac.authorization.k8s.io")
    finally:
        client.CoreV1Api(admin).delete_namespace(other)
