"""Fixtures shared by the cluster tier: a namespace per test, the AgenticSession CRD per session."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from kubernetes import client

from fixtures.cluster import Cluster
from fixtures.crd import install_crd
from fixtures.kube import admin_client
from operator_stub import manifests


@pytest.fixture()
def namespace(cluster: Cluster) -> Iterator[str]:
    """A fresh namespace; deleted afterwards (without waiting: the namespace controller finishes)."""
    api = client.CoreV1Api(admin_client(cluster.kubeconfig))
    name = f"t-{uuid.uuid4().hex[:8]}"
    api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    api.delete_namespace(name)


@pytest.fixture(scope="session")
def session_crd(cluster: Cluster) -> str:
    """The AgenticSession CRD as shipped, installed (idempotently) and served; its name.

    Each pytest-xdist worker calls this for its own cluster, and concurrently
    for a shared one: :func:`fixtures.crd.install_crd` is safe either way.
    """
    definition = manifests.crd()
    install_crd(admin_client(cluster.kubeconfig), definition)
    return str(definition["metadata"]["name"])
