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
