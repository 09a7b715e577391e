"""Fixtures of the cluster tier: the AgenticSession CRD once per run (`namespace` is in tests/conftest.py)."""

from __future__ import annotations

import pytest

from longhaul.fixtures.cluster import Cluster
from longhaul.fixtures.kube.clients import admin_client
from longhaul.fixtures.kube.crd import install_crd
from operator_stub import manifests

# Helpers shared by test modules of this tier: their asserts report values like a test's own.
pytest.register_assert_rewrite("backend_helpers")


@pytest.fixture(scope="session")
def session_crd(cluster: Cluster) -> str:
    """The AgenticSession CRD as shipped, installed (idempotently) and served; its name.

    Each pytest-xdist worker calls this for its own cluster, and concurrently
    for a shared one: :func:`longhaul.fixtures.kube.crd.install_crd` is safe either way.
    """
    definition = manifests.crd()
    install_crd(admin_client(cluster.kubeconfig), definition)
    return str(definition["metadata"]["name"])
