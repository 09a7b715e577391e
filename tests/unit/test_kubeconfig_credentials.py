"""Credentials from the kubeconfigs users have reach every longhaul part as the Kubernetes client reads them.

The chain a run uses: the user's file -> one-context copy (``single_context``)
-> the admin client (the kubernetes client's own loader) and ``server_and_ca``
(the backend's ``--kube-ca``, the operator's kubeconfig) -> the operator's
token kubeconfig.  Each step is checked here for kind's shape (inline CA,
client certificate and key), EKS's (an ``exec`` plugin, run for real: a small
script printing an ExecCredential) and GKE's (a CA file and a bearer token):
the right server, the same CA bytes, TLS verification on, the credential the
user gave and no other context's.
"""

from __future__ import annotations

import base64
import json
import stat
import sys
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config

from longhaul.fixtures.kube.clients import admin_client, server_and_ca, token_kubeconfig
from longhaul.fixtures.kube.kubeconfig import write_single_context

CA = b"-----BEGIN CERTIFICATE-----\nthe target's CA\n-----END CERTIFICATE-----\n"
DECOY_CA = b"-----BEGIN CERTIFICATE-----\nthe decoy's CA\n-----END CERTIFICATE-----\n"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _two_contexts(target_cluster: dict[str, Any], target_user: dict[str, Any]) -> dict[str, Any]:
    """A decoy first and current, the target second: what kind writes after two `kind create`s."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "decoy",
        "clusters": [
            {
                "name": "decoy",
                "cluster": {"server": "https://127.0.0.1:1", "certificate-authority-data": b64(DECOY_CA)},
            },
            {"name": "target", "cluster": target_cluster},
        ],
        "users": [
            {"name": "decoy", "user": {"token": "decoy-token"}},
            {"name": "target", "user": target_user},
        ],
        "contexts": [
            {"name": "decoy", "context": {"cluster": "decoy", "user": "decoy"}},
            {"name": "target", "context": {"cluster": "target", "user": "target"}},
        ],
    }


def _copy(tmp_path: Path, doc: dict[str, Any]) -> Path:
    src = tmp_path / "user" / "config"
    src.parent.mkdir(exist_ok=True)
    src.write_text(yaml.safe_dump(doc))
    return write_single_context(src, "target", tmp_path / "run" / "kubeconfig")


def _bearer(conf: client.Configuration) -> str | None:
    """The Authorization header the client sends (its auth settings, as every typed call uses)."""
    setting = conf.auth_settings().get("BearerToken")
    return str(setting["value"]) if setting else None


def _loaded(path: Path) -> client.Configuration:
    return admin_client(path).configuration


def test_kind_style_inline_ca_and_client_certificate(tmp_path: Path) -> None:
    cert, key = b"client cert\n", b"client key\n"
    copy = _copy(
        tmp_path,
        _two_contexts(
            {"server": "https://127.0.0.1:7443", "certificate-authority-data": b64(CA)},
            {"client-certificate-data": b64(cert), "client-key-data": b64(key)},
        ),
    )
    conf = _loaded(copy)
    assert conf.host == "https://127.0.0.1:7443" and conf.verify_ssl is True
    assert Path(conf.ssl_ca_cert).read_bytes() == CA
    assert Path(conf.cert_file).read_bytes() == cert and Path(conf.key_file).read_bytes() == key
    server, ca = server_and_ca(copy)
    assert server == "https://127.0.0.1:7443" and ca is not None and Path(ca).read_bytes() == CA
    assert "decoy" not in copy.read_text()


def _exec_plugin(tmp_path: Path) -> Path:
    script = tmp_path / "fake-aws"
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "kind": "ExecCredential",
        "status": {"token": "eks-token-from-plugin"},
    }
    script.write_text(f"#!{sys.executable}\nimport json\nprint(json.dumps({json.dumps(credential)}))\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def test_eks_style_exec_plugin_is_run_by_the_client_for_the_target_only(tmp_path: Path) -> None:
    plugin = _exec_plugin(tmp_path)
    exec_cfg = {
        "apiVersion": "client.authentication.k8s.io/v1beta1",
        "command": str(plugin),
        "args": ["eks", "get-token", "--cluster-name", "prod"],
        "interactiveMode": "Never",
    }
    copy = _copy(
        tmp_path,
        _two_contexts(
            {"server": "https://x.eks.example", "certificate-authority-data": b64(CA)}, {"exec": exec_cfg}
        ),
    )
    conf = _loaded(copy)
    assert conf.host == "https://x.eks.example" and conf.verify_ssl is True
    assert _bearer(conf) == "Bearer eks-token-from-plugin"
    assert Path(server_and_ca(copy)[1] or "").read_bytes() == CA


def test_gke_style_ca_file_and_token_and_the_operators_kubeconfig_from_it(tmp_path: Path) -> None:
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "gke-ca.crt").write_bytes(CA)
    copy = _copy(
        tmp_path,
        _two_contexts(
            {"server": "https://34.1.2.3", "certificate-authority": "gke-ca.crt"}, {"token": "gke-token"}
        ),
    )
    conf = _loaded(copy)
    assert _bearer(conf) == "Bearer gke-token"
    assert Path(conf.ssl_ca_cert).read_bytes() == CA and conf.verify_ssl is True
    server, ca = server_and_ca(copy)
    # The operator's kubeconfig: the same server and CA, the ServiceAccount's token from a file.
    operator = token_kubeconfig(tmp_path / "op", server, ca, "operator-sa-token")
    loader = client.Configuration()
    config.load_kube_config(config_file=str(operator), client_configuration=loader)
    assert loader.host == "https://34.1.2.3" and loader.verify_ssl is True
    assert Path(loader.ssl_ca_cert).read_bytes() == CA
    assert _bearer(loader) == "Bearer operator-sa-token"
    assert "operator-sa-token" not in operator.read_text()  # the token is in its own 0600 file


def test_raw_get_sends_the_token_the_kubeconfig_gives(tmp_path: Path) -> None:
    """``/openid/v1/jwks`` for the audience scenarios is fetched with the user's credentials."""
    import http.server
    import threading

    seen: list[str | None] = []

    class Answer(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Authorization"))
            body = b'{"keys": []}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        copy = _copy(tmp_path, _two_contexts({"server": url}, {"token": "user-token"}))
        from longhaul.fixtures.kube.clients import raw_get

        assert raw_get(admin_client(copy), "/openid/v1/jwks") == b'{"keys": []}'
    finally:
        server.shutdown()
        server.server_close()
    assert seen == ["Bearer user-token"]
