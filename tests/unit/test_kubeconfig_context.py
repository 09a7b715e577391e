"""``--kube-context`` is honoured everywhere because everything gets a one-context kubeconfig.

The kubeconfigs below have the shapes users bring: kind's (CA and client
certificate inline, two contexts, the wanted one not current), EKS's (an
``exec`` credential plugin) and GKE's (a relative CA file, a token).  The
kubernetes client itself loads each result, as every longhaul part will.
"""

from __future__ import annotations

import base64
import stat
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import config

from longhaul.fixtures.kube.kubeconfig import KubeconfigError, single_context, write_single_context

B64 = base64.b64encode(b"-----BEGIN CERTIFICATE-----\nnot a real one\n-----END CERTIFICATE-----\n").decode()


def _kind_style() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "kind-other",
        "clusters": [
            {
                "name": "kind-other",
                "cluster": {"server": "https://127.0.0.1:6443", "certificate-authority-data": B64},
            },
            {
                "name": "kind-lh",
                "cluster": {"server": "https://127.0.0.1:7443", "certificate-authority-data": B64},
            },
        ],
        "users": [
            {"name": "kind-other", "user": {"client-certificate-data": B64, "client-key-data": B64}},
            {"name": "kind-lh", "user": {"client-certificate-data": B64, "client-key-data": B64}},
        ],
        "contexts": [
            {"name": "kind-other", "context": {"cluster": "kind-other", "user": "kind-other"}},
            {"name": "kind-lh", "context": {"cluster": "kind-lh", "user": "kind-lh"}},
        ],
    }


def _write(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "src" / "config"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(doc))
    return path


def test_a_kind_style_kubeconfig_gives_the_named_context_not_the_current_one(tmp_path: Path) -> None:
    out = write_single_context(_write(tmp_path, _kind_style()), "kind-lh", tmp_path / "lh.kubeconfig")
    doc = yaml.safe_load(out.read_text())
    assert doc["current-context"] == "kind-lh"
    assert [c["name"] for c in doc["clusters"]] == ["kind-lh"]
    assert doc["clusters"][0]["cluster"]["certificate-authority-data"] == B64  # inline data kept as is
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    loader = config.kube_config._get_kube_config_loader(filename=str(out))
    assert loader.current_context["name"] == "kind-lh"
    assert loader._cluster["server"] == "https://127.0.0.1:7443"


def test_without_a_context_the_current_one_is_taken(tmp_path: Path) -> None:
    doc = single_context(_write(tmp_path, _kind_style()), None)
    assert doc["current-context"] == "kind-other"
    assert doc["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:6443"


def test_an_eks_style_exec_plugin_is_kept_exactly(tmp_path: Path) -> None:
    exec_cfg = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": "aws",
        "args": ["eks", "get-token", "--cluster-name", "prod"],
        "env": [{"name": "AWS_PROFILE", "value": "ci"}],
        "interactiveMode": "Never",
    }
    src = {
        "apiVersion": "v1",
        "current-context": "arn:aws:eks:eu-west-1:1:cluster/prod",
        "clusters": [
            {
                "name": "prod",
                "cluster": {"server": "https://x.eks.amazonaws.com", "certificate-authority-data": B64},
            }
        ],
        "users": [{"name": "prod-user", "user": {"exec": exec_cfg}}],
        "contexts": [
            {
                "name": "arn:aws:eks:eu-west-1:1:cluster/prod",
                "context": {"cluster": "prod", "user": "prod-user"},
            }
        ],
    }
    doc = single_context(_write(tmp_path, src), None)
    assert doc["users"][0]["user"]["exec"] == exec_cfg


def test_a_gke_style_relative_ca_file_and_token_become_usable_from_anywhere(tmp_path: Path) -> None:
    src_path = _write(
        tmp_path,
        {
            "apiVersion": "v1",
            "current-context": "gke",
            "clusters": [
                {"name": "gke", "cluster": {"server": "https://34.1.2.3", "certificate-authority": "ca.crt"}}
            ],
            "users": [{"name": "gke", "user": {"token": "not-a-real-token"}}],
            "contexts": [{"name": "gke", "context": {"cluster": "gke", "user": "gke"}}],
        },
    )
    (src_path.parent / "ca.crt").write_text("x")
    doc = single_context(src_path, "gke")
    assert doc["clusters"][0]["cluster"]["certificate-authority"] == str(src_path.parent / "ca.crt")
    assert doc["users"][0]["user"]["token"] == "not-a-real-token"


def test_an_unknown_context_is_an_error_that_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(KubeconfigError, match=r"context 'nope' is not in .*it has: kind-lh, kind-other"):
        single_context(_write(tmp_path, _kind_style()), "nope")
