"""The in-cluster backend's objects and the ``--backend-site`` choice, without a cluster."""

from __future__ import annotations

import base64

from longhaul.fixtures.engine import backend_manifests as m
from longhaul.fixtures.engine.readiness import Readiness
from longhaul.fixtures.plugin.backend_site import backend_site_choice


def _pod_spec(jwks: bool = False) -> dict:  # type: ignore[type-arg]
    args = m.backend_args(m.jwks_auth("aud") if jwks else m.kube_auth(), ["--ping-interval", "5"])
    return m.deployment("img:1", "Never", list(m.BACKEND_COMMAND), args, jwks=jwks)["spec"]["template"][
        "spec"
    ]


def test_the_backend_pod_has_no_token_no_root_and_its_ledger_on_an_empty_dir() -> None:
    spec = _pod_spec()
    (container,) = spec["containers"]
    assert spec["automountServiceAccountToken"] is False and spec["serviceAccountName"] == m.NAME
    assert m.service_account()["automountServiceAccountToken"] is False
    ctx = container["securityContext"]
    assert ctx["runAsNonRoot"] and ctx["readOnlyRootFilesystem"] and ctx["capabilities"] == {"drop": ["ALL"]}
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["ledger"] == {"name": "ledger", "emptyDir": {}}
    assert volumes["kube-ca"]["configMap"]["name"] == "kube-root-ca.crt" and "jwks" not in volumes
    args = container["args"]
    assert args[args.index("--ledger") + 1].startswith(m.LEDGER_DIR)
    assert args[args.index("--debug-secret-file") + 1] == f"{m.SECRET_DIR}/secret"
    assert args[args.index("--auth") + 1] == "kube" and "--kube-api" not in args  # in-cluster address
    assert container["command"][-3:] == ["python3", "-m", "backend_stub"]


def test_the_audience_scenarios_get_the_key_set_from_a_config_map() -> None:
    spec = _pod_spec(jwks=True)
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["jwks"]["configMap"]["name"] == f"{m.NAME}-jwks"
    args = spec["containers"][0]["args"]
    assert args[args.index("--auth") + 1] == "jwks" and args[args.index("--audience") + 1] == "aud"
    assert m.jwks_config_map(b'{"keys": []}')["data"] == {"jwks.json": '{"keys": []}'}


def test_the_debug_secret_is_only_in_the_secret_object() -> None:
    secret = m.debug_secret("sekrit")
    assert base64.b64decode(secret["data"]["secret"]) == b"sekrit"
    assert "sekrit" not in str(_pod_spec())


def test_a_restart_holds_the_container_down_then_stops_pid_1() -> None:
    (shell, flag, script) = m.restart_command(2.5)
    assert (shell, flag) == ("sh", "-c") and f"echo 2.5 > {m.HOLD_FILE}" in script
    assert script.endswith("kill -TERM 1") and f"rm -f {m.PORT_FILE}" in script
    assert m.HOLD_FILE in _pod_spec()["containers"][0]["command"][2]


def test_auto_takes_the_cluster_site_only_when_pods_cannot_reach_the_host() -> None:
    reached = Readiness(1.0, 2.0, 0.3, node_version="v1.34.4")
    unreached = Readiness(1.0, 2.0, None, "cannot reach the harness host", "v1.34.4")
    assert backend_site_choice("auto", reached) == "host"
    assert backend_site_choice("auto", unreached) == "cluster"
    assert (
        backend_site_choice("host", unreached) == "host"
        and backend_site_choice("cluster", reached) == "cluster"
    )
    assert (
        "node v1.34.4" in unreached.header_line() and "not reached (cannot reach" in unreached.header_line()
    )
