"""The API server and CA the harness hands to processes beside it, from any kubeconfig."""

from __future__ import annotations

import base64
from pathlib import Path

import yaml

from longhaul.fixtures.kube.clients import server_and_ca

PEM = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def _kubeconfig(tmp_path: Path, cluster: dict[str, str]) -> Path:
    path = tmp_path / "kubeconfig"
    doc = {
        "current-context": "c",
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
        "clusters": [{"name": "k", "cluster": {"server": "https://127.0.0.1:6443", **cluster}}],
        "users": [{"name": "u", "user": {}}],
    }
    path.write_text(yaml.safe_dump(doc))
    return path


def test_an_inline_ca_is_written_to_a_file_beside_the_kubeconfig(tmp_path: Path) -> None:
    data = base64.b64encode(PEM).decode()
    server, ca = server_and_ca(_kubeconfig(tmp_path, {"certificate-authority-data": data}))
    assert server == "https://127.0.0.1:6443"
    assert ca is not None and Path(ca).read_bytes() == PEM and Path(ca).parent == tmp_path


def test_a_ca_file_is_passed_as_it_is(tmp_path: Path) -> None:
    assert server_and_ca(_kubeconfig(tmp_path, {"certificate-authority": "/x/ca.crt"}))[1] == "/x/ca.crt"


def test_a_cluster_without_a_ca_is_verified_against_the_system_store_never_not_at_all() -> None:
    from longhaul.fixtures.kube.clients import token_client

    conf = token_client("https://example.invalid:443", None, "t").configuration
    assert conf.verify_ssl is True and conf.ssl_ca_cert is None


def test_insecure_skip_tls_verify_is_refused_loudly(tmp_path: Path) -> None:
    import pytest

    with pytest.raises(ValueError, match="never turns TLS verification off"):
        server_and_ca(_kubeconfig(tmp_path, {"insecure-skip-tls-verify": True}))  # type: ignore[dict-item]
