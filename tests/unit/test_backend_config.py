"""Backend flags also come from BACKEND_<FLAG> env vars (how a pod configures it); flags win.

Bad flags, and a key set that cannot be used, stop the backend before it listens, with the reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from backend_stub.__main__ import authenticator_from, main, parse_args
from backend_stub.auth import JwtKeyAuthenticator, SelfSubjectAccessReviewAuthenticator
from backend_stub.jwks import JwksAuthenticator
from longhaul.fixtures.rigs.token_issuer import TokenIssuer


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


# --- --auth jwks: bad flags and an unusable key set stop the backend before it listens --------------


def _jwks_file(tmp_path: Path) -> Path:
    issuer = TokenIssuer(kid="k1")
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [issuer.jwk()]}))
    return path


@pytest.mark.parametrize(
    ("flags", "error"),
    [
        (["--auth", "jwks"], "--auth jwks needs exactly one of --jwks-url and --jwks-file"),
        (
            ["--auth", "jwks", "--jwks-url", "https://a/openid/v1/jwks", "--jwks-file", "{jwks}"],
            "--auth jwks needs exactly one of --jwks-url and --jwks-file",
        ),
        (["--auth", "jwks", "--jwks-file", "{jwks}", "--jwks-token-file", "{jwks}"], "only for --jwks-url"),
        (["--auth", "jwks", "--jwks-url", "ftp://a/jwks"], "--jwks-url must be an http(s) URL"),
        (
            ["--auth", "jwks", "--jwks-url", "http://a/jwks", "--jwks-token-file", "{jwks}"],
            "need an https --jwks-url (no token in clear text)",
        ),
        (["--auth", "jwks", "--jwks-file", "{missing}"], "--jwks-file {missing}: no such file"),
        (
            ["--auth", "jwks", "--jwks-url", "https://a/jwks", "--jwks-ca-file", "{missing}"],
            "--jwks-ca-file {missing}: no such file",
        ),
        (
            ["--auth", "jwks", "--jwks-file", "{jwks}", "--jwks-refresh-interval", "-1"],
            "must not be negative",
        ),
        (["--auth", "kube", "--jwks-url", "https://a/jwks"], "--jwks-url is only for --auth jwks"),
    ],
)
def test_bad_jwks_flags_are_refused_with_the_reason(
    flags: list[str], error: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = {"jwks": str(_jwks_file(tmp_path)), "missing": str(tmp_path / "missing")}
    with pytest.raises(SystemExit) as info:
        parse_args([f.format(**names) for f in flags], {})
    assert info.value.code == 2
    assert error.format(**names) in capsys.readouterr().err


def test_jwks_auth_loads_the_key_set_at_start_up(tmp_path: Path) -> None:
    args = parse_args(
        ["--auth", "jwks", "--jwks-file", str(_jwks_file(tmp_path)), "--audience", "be", "--issuer", "i"], {}
    )
    auth = authenticator_from(args)
    assert isinstance(auth, JwksAuthenticator)
    assert (auth.keys.kids, auth.keys.fetches, auth.audience, auth.issuer) == (["k1"], 1, "be", "i")


def test_jwks_flags_come_from_env_too(tmp_path: Path) -> None:
    env = {"BACKEND_AUTH": "jwks", "BACKEND_JWKS_FILE": str(_jwks_file(tmp_path))}
    assert isinstance(authenticator_from(parse_args([], env)), JwksAuthenticator)


def test_an_unusable_key_set_stops_the_backend_with_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    assert main(["--auth", "jwks", "--jwks-file", str(jwks)]) == 2
    assert (
        capsys.readouterr().err
        == f"backend_stub: error: JWKS from {jwks} holds no usable public signature key\n"
    )
