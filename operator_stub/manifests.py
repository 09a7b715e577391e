"""The operator's static manifests (CRD, RBAC, optional Deployment) as parsed dicts.

Shipped as YAML next to this module (package data) so ``kubectl apply -f`` and
Python harnesses install the very same objects.  The loaders only re-target
namespaces and images; they never change what is granted.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any, Final

import yaml

DEFAULT_NAMESPACE: Final = "longhaul-system"

Manifest = dict[str, Any]


@cache
def _load(filename: str) -> tuple[Manifest, ...]:
    text = resources.files("operator_stub").joinpath("manifests", filename).read_text(encoding="utf-8")
    return tuple(doc for doc in yaml.safe_load_all(text) if doc)


def load(filename: str) -> list[Manifest]:
    """Every document of ``manifests/<filename>``, as fresh copies the caller may modify."""
    return copy.deepcopy(list(_load(filename)))


def crd() -> Manifest:
    (definition,) = load("crd.yaml")
    return definition


def rbac(namespace: str = DEFAULT_NAMESPACE, watched: Sequence[str] | None = None) -> list[Manifest]:
    """The operator's ServiceAccount (in ``namespace``), its ClusterRole, and the binding(s).

    With ``watched`` the ClusterRole is granted only in those namespaces, through
    one RoleBinding each, instead of cluster-wide.
    """
    docs = load("rbac.yaml")
    for doc in docs:
        if doc["kind"] == "ServiceAccount":
            doc["metadata"]["namespace"] = namespace
        for subject in doc.get("subjects", []):
            subject["namespace"] = namespace
    if watched is None:
        return docs
    (cluster_binding,) = (doc for doc in docs if doc["kind"] == "ClusterRoleBinding")
    bindings = [
        {
            **copy.deepcopy(cluster_binding),
            "kind": "RoleBinding",
            "metadata": {"name": cluster_binding["metadata"]["name"], "namespace": ns},
        }
        for ns in watched
    ]
    return [doc for doc in docs if doc is not cluster_binding] + bindings


def deployment(
    namespace: str = DEFAULT_NAMESPACE, image: str | None = None, args: Sequence[str] | None = None
) -> Manifest:
    (doc,) = load("deployment.yaml")
    doc["metadata"]["namespace"] = namespace
    container = doc["spec"]["template"]["spec"]["containers"][0]
    if image is not None:
        container["image"] = image
    if args is not None:
        container["args"] = list(args)
    return doc
