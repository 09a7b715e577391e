"""Test-suite settings and fixtures shared by every tier.

Hypothesis' per-example deadline measures wall time, which on a loaded
2-core machine (a cluster beside the tests, xdist workers) says nothing about
the code: it is off, so property tests fail on properties only.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings
from kubernetes import client

from longhaul.fixtures.cluster import Cluster
from longhaul.fixtures.kube.clients import admin_client

settings.register_profile("longhaul", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("longhaul")


@pytest.fixture()
def namespace(cluster: Cluster) -> Iterator[str]:
    """A fresh namespace on the run's cluster; deleted afterwards (the namespace controller finishes)."""
    api = client.CoreV1Api(admin_client(cluster.kubeconfig))
    name = f"t-{uuid.uuid4().hex[:8]}"
    api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    api.delete_namespace(name)
