"""Backend flags also come from BACKEND_<FLAG> env vars (how a pod configures it); flags win."""

from __future__ import annotations

from pathlib import Path

import pytest

from backend_stub.__main__ import authenticator_from, parse_args
from backend_stub.auth import JwtKeyAuthenticator, SelfSubjectAccessReviewAuthenticator


def test_env_sets_flags_and_flags_override_env() -> None:
    env = {
        "BACKEND_JWT_PUBLIC_KEY": "/k.pem",
        "BACKEND_MAX_CONNECTION_AGE": "3",
        "BACKEND_CLOSE_ON_TOKEN_EXPIRY": "1",
        "BACKEND_PORT": "8080",
    }
    args = parse_args(["--port", "9090"], env)
    assert (args.jwt_public_key, args.max_connection_age, args.close_on_token_expiry) == (
        Path("/k.pem"),
        3.0,
        True,
    )
    assert args.port == 9090
    assert args.close_timeout == 2.0 and args.ping_interval == 30.0


def test_jwt_auth_needs_a_key() -> None:
    with pytest.raises(SystemExit) as info:
        parse_args([], {})
    assert info.value.code == 2


def test_kube_auth_defaults_to_the_in_cluster_apiserver(tmp_path: Path) -> None:
    args = parse_args(["--auth", "kube"], {})
    auth = authenticator_from(
        args, {"KUBERNETES_SERVICE_HOST": "198.18.0.1", "KUBERNETES_SERVICE_PORT": "6443"}
    )
    assert isinstance(auth, SelfSubjectAccessReviewAuthenticator)
    assert auth.api_url == "https://198.18.0.1:6443"


def test_jwt_auth_reads_the_key_file(tmp_path: Path) -> None:
    key = tmp_path / "k.pem"
    key.write_bytes(b"-----BEGIN PUBLIC KEY-----\n")
    auth = authenticator_from(parse_args(["--jwt-public-key", str(key), "--audience", "be"], {}))
    assert isinstance(auth, JwtKeyAuthenticator) and auth.audience == "be"
