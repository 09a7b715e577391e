"""On a shared cluster the CRD may belong to someone else: longhaul uses it or refuses, never overwrites.

The definitions here are copies of longhaul's CRD under a group of their own,
so this test never touches the AgenticSession CRD other tests use.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client

from longhaul.fixtures.cluster import Cluster
from longhaul.fixtures.kube.clients import admin_client
from longhaul.fixtures.kube.crd import CrdOwnedElsewhere, incompatibilities, install_crd
from operator_stub import manifests

pytestmark = pytest.mark.cluster


def _definition() -> dict[str, Any]:
    crd = copy.deepcopy(manifests.crd())
    group = f"g{uuid.uuid4().hex[:8]}.guard.longhaul.test"
    crd["spec"]["group"] = group
    crd["metadata"]["name"] = f"{crd['spec']['names']['plural']}.{group}"
    return crd


def _spec_managers(crd: Any) -> set[str]:
    return {m.manager for m in crd.metadata.managed_fields if not m.subresource}


@pytest.fixture
def ext(cluster: Cluster) -> client.ApiextensionsV1Api:
    return client.ApiextensionsV1Api(admin_client(cluster.kubeconfig))


@pytest.fixture
def owned(ext: client.ApiextensionsV1Api) -> Iterator[dict[str, Any]]:
    """A CRD created by another field manager (the platform's own installer)."""
    crd = _definition()
    ext.create_custom_resource_definition(crd, field_manager="platform-installer")
    yield crd
    ext.delete_custom_resource_definition(crd["metadata"]["name"])


def test_a_compatible_crd_of_another_manager_is_used_unchanged(
    cluster: Cluster, ext: client.ApiextensionsV1Api, owned: dict[str, Any]
) -> None:
    name = owned["metadata"]["name"]
    before = ext.read_custom_resource_definition(name)
    install_crd(admin_client(cluster.kubeconfig), owned)
    after = ext.read_custom_resource_definition(name)
    assert after.spec == before.spec  # not written to
    assert _spec_managers(after) == {"platform-installer"}


def test_an_incompatible_crd_of_another_manager_is_refused_naming_the_manager(
    cluster: Cluster, ext: client.ApiextensionsV1Api, owned: dict[str, Any]
) -> None:
    name = owned["metadata"]["name"]
    wanted = copy.deepcopy(owned)
    wanted["spec"]["versions"][0]["name"] = "v9"  # longhaul would need a version the owner does not serve
    before = ext.read_custom_resource_definition(name)
    with pytest.raises(
        CrdOwnedElsewhere, match=r"managed by platform-installer, not by longhaul.*v9 is not served"
    ):
        install_crd(admin_client(cluster.kubeconfig), wanted)
    after = ext.read_custom_resource_definition(name)
    assert after.spec == before.spec and _spec_managers(after) == {"platform-installer"}


def test_longhauls_own_crd_is_applied_and_kept_up_to_date(
    cluster: Cluster, ext: client.ApiextensionsV1Api
) -> None:
    crd = _definition()
    name = crd["metadata"]["name"]
    try:
        install_crd(admin_client(cluster.kubeconfig), crd)
        install_crd(admin_client(cluster.kubeconfig), crd)  # idempotent
        assert _spec_managers(ext.read_custom_resource_definition(name)) == {"longhaul-harness"}
    finally:
        ext.delete_custom_resource_definition(name)


def test_incompatibilities_name_each_missing_piece() -> None:
    wanted = manifests.crd()
    theirs = copy.deepcopy(wanted)
    theirs["spec"]["names"]["plural"] = "sessions"
    del theirs["spec"]["versions"][0]["subresources"]
    found = incompatibilities(theirs, wanted)
    assert any("spec.names.plural is 'sessions'" in p for p in found), found
    assert any("no status subresource" in p for p in found), found
    assert incompatibilities(wanted, wanted) == []
