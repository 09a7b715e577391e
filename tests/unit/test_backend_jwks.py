"""``--auth jwks``: tokens verified against a key set chosen by ``kid``, refetched when keys rotate.

Key sets are generated locally (:class:`longhaul.fixtures.rigs.token_issuer.TokenIssuer`
with a ``kid``); the URL source is exercised over real HTTPS with a bearer
token file, as a cluster's ``/openid/v1/jwks`` needs.  That a real cluster's
keys verify its real tokens is the cluster tier's job.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from backend_stub.auth import INVALID, AuthResult
from backend_stub.jwks import JwksAuthenticator, JwksError, JwksFile, JwksUrl, KeySet, parse_key_set
from longhaul.fixtures.rigs.tls import self_signed_cert, serving_https
from longhaul.fixtures.rigs.token_issuer import ISSUER, TokenIssuer

NS = "team-a"
FORBIDDEN = f"not allowed to list agenticsessions.vteam.ambient-code in namespace {NS}"


@pytest.fixture(scope="module")
def key_a() -> TokenIssuer:
    return TokenIssuer(namespace=NS, kid="key-a")


@pytest.fixture(scope="module")
def key_b() -> TokenIssuer:
    return TokenIssuer(namespace=NS, kid="key-b")


def write_jwks(path: Path, *issuers: TokenIssuer) -> Path:
    path.write_text(json.dumps({"keys": [i.jwk() for i in issuers]}))
    return path


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


def authenticator(
    path: Path, *, interval: float = 0.0, clock: Clock | None = None, **checks: str
) -> JwksAuthenticator:
    keys = KeySet(JwksFile(path), interval, clock or Clock())
    keys.load()
    return JwksAuthenticator(keys, **checks)


def judge(auth: JwksAuthenticator, token: str, namespace: str = NS) -> AuthResult:
    return asyncio.run(auth.authenticate(token, namespace))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hs256_with_public_key(issuer: TokenIssuer) -> str:
    """The algorithm-confusion forgery: HMAC-sign claims with the *public* key as the shared secret."""
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": issuer.kid}).encode())
    now = int(time.time())
    claims = {"sub": f"system:serviceaccount:{NS}:sa", "iat": now, "exp": now + 600}
    signing_input = f"{header}.{_b64(json.dumps(claims).encode())}"
    mac = hmac.new(issuer.public_key_pem(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


def unsigned(issuer: TokenIssuer) -> str:
    header = _b64(json.dumps({"alg": "none", "kid": issuer.kid}).encode())
    now = int(time.time())
    return f"{header}.{_b64(json.dumps({'sub': 'x', 'iat': now, 'exp': now + 600}).encode())}."


def test_each_token_is_verified_with_the_key_its_kid_names(
    key_a: TokenIssuer, key_b: TokenIssuer, tmp_path: Path
) -> None:
    auth = authenticator(write_jwks(tmp_path / "jwks.json", key_a, key_b))
    for issuer in (key_a, key_b):
        result = judge(auth, issuer.mint("ambient-session-s1", lifetime=60))
        assert result.allowed, result
        assert result.claims["sub"] == f"system:serviceaccount:{NS}:ambient-session-s1"


@pytest.mark.parametrize(
    ("case", "status", "reason"),
    [
        ("expired", 401, INVALID),
        ("not yet valid", 401, INVALID),
        ("tampered signature", 401, INVALID),
        ("another key under a known kid", 401, INVALID),
        ("unknown kid", 401, INVALID),
        ("no kid, several keys", 401, INVALID),
        ("unsigned (alg none)", 401, INVALID),
        ("HS256 with the public key as secret", 401, INVALID),
        ("not a JWT", 401, INVALID),
        ("ServiceAccount of another namespace", 403, FORBIDDEN),
    ],
)
def test_rejections(
    key_a: TokenIssuer, key_b: TokenIssuer, tmp_path: Path, case: str, status: int, reason: str
) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tokens = {
        "expired": lambda: key_a.mint("sa", lifetime=-5),
        "not yet valid": lambda: key_a.mint("sa", not_before=2**31),
        "tampered signature": lambda: _tamper(key_a.mint("sa")),
        "another key under a known kid": lambda: key_a.mint("sa", signer=stranger),
        "unknown kid": lambda: TokenIssuer(namespace=NS, key=stranger, kid="key-x").mint("sa"),
        "no kid, several keys": lambda: TokenIssuer(namespace=NS, key=key_a.key).mint("sa"),
        "unsigned (alg none)": lambda: unsigned(key_a),
        "HS256 with the public key as secret": lambda: hs256_with_public_key(key_a),
        "not a JWT": lambda: "not-a-jwt",
        "ServiceAccount of another namespace": lambda: key_a.mint("sa", namespace="team-b"),
    }
    auth = authenticator(write_jwks(tmp_path / "jwks.json", key_a, key_b))
    result = judge(auth, tokens[case]())
    assert (result.status, result.reason) == (status, reason)


def _tamper(token: str) -> str:
    header, claims, signature = token.split(".")
    return f"{header}.{claims}.{signature[::-1]}"


def test_a_token_without_kid_may_use_the_only_key_of_a_one_key_set(
    key_a: TokenIssuer, tmp_path: Path
) -> None:
    auth = authenticator(write_jwks(tmp_path / "jwks.json", key_a))
    assert judge(auth, TokenIssuer(namespace=NS, key=key_a.key).mint("sa")).allowed


def test_issuer_is_checked_when_configured(key_a: TokenIssuer, tmp_path: Path) -> None:
    jwks = write_jwks(tmp_path / "jwks.json", key_a)
    auth = authenticator(jwks, issuer=ISSUER)
    assert judge(auth, key_a.mint("sa")).allowed
    assert judge(auth, key_a.mint("sa", issuer="https://elsewhere.test")).status == 401
    assert judge(authenticator(jwks), key_a.mint("sa", issuer="https://elsewhere.test")).allowed


def test_audience_is_checked_when_configured(key_a: TokenIssuer, tmp_path: Path) -> None:
    jwks = write_jwks(tmp_path / "jwks.json", key_a)
    auth = authenticator(jwks, audience="backend")
    assert judge(auth, key_a.mint("sa", audience=["other", "backend"])).allowed
    assert judge(auth, key_a.mint("sa", audience="other")).status == 401
    assert judge(auth, key_a.mint("sa")).status == 401, "a token without aud is refused too"
    assert judge(authenticator(jwks), key_a.mint("sa", audience="other")).allowed


def test_a_rotated_key_is_fetched_when_a_token_names_it(
    key_a: TokenIssuer, key_b: TokenIssuer, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    jwks = write_jwks(tmp_path / "jwks.json", key_a)
    auth = authenticator(jwks)
    token = key_b.mint("sa")
    assert judge(auth, token).status == 401
    write_jwks(jwks, key_a, key_b)  # the issuer publishes its new key
    assert judge(auth, token).allowed
    assert auth.keys.fetches == 3, "initial load + one refetch per unknown-kid handshake"
    assert judge(auth, key_b.mint("sa")).allowed and auth.keys.fetches == 3, "a known kid fetches nothing"
    log = capfd.readouterr().err
    assert "event=jwks_refreshed" in log and "kid=key-b" in log and "rotated=True" in log
    assert token not in log and token.split(".")[2] not in log


def test_unknown_kids_refetch_at_most_once_per_interval(
    key_a: TokenIssuer, key_b: TokenIssuer, tmp_path: Path
) -> None:
    clock = Clock()
    jwks = write_jwks(tmp_path / "jwks.json", key_a)
    auth = authenticator(jwks, interval=30.0, clock=clock)
    write_jwks(jwks, key_a, key_b)
    forged = [TokenIssuer(namespace=NS, key=key_a.key, kid=f"forged-{i}").mint("sa") for i in range(5)]
    assert [judge(auth, t).status for t in [*forged, key_b.mint("sa")]] == [401] * 6
    assert auth.keys.fetches == 1, "inside the interval no kid may cause a fetch"
    clock.now += 30.0
    assert judge(auth, key_b.mint("sa")).allowed and auth.keys.fetches == 2


def test_concurrent_handshakes_with_a_new_kid_share_one_fetch(
    key_a: TokenIssuer, key_b: TokenIssuer, tmp_path: Path
) -> None:
    jwks = write_jwks(tmp_path / "jwks.json", key_a)
    auth = authenticator(jwks)
    write_jwks(jwks, key_a, key_b)
    tokens = [key_b.mint(f"sa-{i}") for i in range(6)]

    async def all_at_once() -> list[AuthResult]:
        return list(await asyncio.gather(*(auth.authenticate(t, NS) for t in tokens)))

    assert all(r.allowed for r in asyncio.run(all_at_once()))
    assert auth.keys.fetches == 2


def test_a_failed_refetch_keeps_the_old_keys_and_says_so_without_a_401(
    key_a: TokenIssuer, key_b: TokenIssuer, tmp_path: Path
) -> None:
    jwks = write_jwks(tmp_path / "jwks.json", key_a)
    auth = authenticator(jwks)
    jwks.write_text("<html>proxy error</html>")
    result = judge(auth, key_b.mint("sa"))
    assert (result.status, result.reason) == (502, "key set refresh failed")
    assert judge(auth, key_a.mint("sa")).allowed, "known keys still verify"


@pytest.mark.parametrize(
    ("document", "error"),
    [
        (b"{not json", "is not JSON"),
        (b'{"issuer": "x"}', 'has no "keys" list'),
        (b'{"keys": []}', "holds no usable public signature key"),
        (b'{"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "s"}]}', "holds no usable public signature key"),
        (b" " * (1024 * 1024 + 1), "is larger than"),
    ],
)
def test_an_unusable_key_set_is_an_error_naming_its_source(document: bytes, error: str) -> None:
    with pytest.raises(JwksError) as info:
        parse_key_set(document, "/etc/jwks.json")
    assert error in str(info.value) and "/etc/jwks.json" in str(info.value)


def test_symmetric_and_encryption_keys_are_dropped_and_signature_keys_kept(
    key_a: TokenIssuer, key_b: TokenIssuer
) -> None:
    encryption_key = {**key_b.jwk(), "use": "enc"}
    published = [{"kty": "oct", "k": "c2VjcmV0", "kid": "s"}, encryption_key, key_a.jwk()]
    keys = parse_key_set(json.dumps({"keys": published}).encode(), "x")
    assert [k.key_id for k in keys] == ["key-a"]


# --- the URL source over real HTTPS ----------------------------------------------------------------


@dataclass
class JwksEndpoint:
    """Serves ``body`` at any GET with ``status``, like the API server's ``/openid/v1/jwks``.

    Records each request's Authorization header.  As the API server does, it
    answers 406 to a client that does not accept ``application/jwk-set+json``.
    """

    ca_file: Path
    url: str = ""
    status: int = 200
    body: bytes = b""
    authorizations: list[str | None] = field(default_factory=list)


@pytest.fixture
def endpoint(tmp_path: Path, key_a: TokenIssuer) -> Iterator[JwksEndpoint]:
    cert_file, key_file = self_signed_cert(tmp_path)
    state = JwksEndpoint(ca_file=cert_file, body=json.dumps({"keys": [key_a.jwk()]}).encode())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.authorizations.append(self.headers.get("Authorization"))
            accepted = self.headers.get("Accept", "*/*")
            acceptable = "application/jwk-set+json" in accepted or "*/*" in accepted
            self.send_response(state.status if acceptable else 406)
            self.send_header("Content-Type", "application/jwk-set+json")
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, *args: object) -> None:
            pass

    with serving_https(Handler, cert_file, key_file) as base_url:
        state.url = base_url + "/openid/v1/jwks"
        yield state


def test_the_url_is_fetched_with_the_token_file_read_afresh_each_time(
    endpoint: JwksEndpoint, key_a: TokenIssuer, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("first-token\n")
    keys = KeySet(JwksUrl(endpoint.url, endpoint.ca_file, token_file, timeout=5), 0.0)
    keys.load()
    token_file.write_text("rotated-token")
    keys.load()
    assert endpoint.authorizations == ["Bearer first-token", "Bearer rotated-token"]
    assert judge(JwksAuthenticator(keys), key_a.mint("sa")).allowed


def test_a_refused_fetch_names_the_url_and_status_but_not_the_token(
    endpoint: JwksEndpoint, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("secret-fetch-token")
    endpoint.status, endpoint.body = 401, b'{"kind":"Status","message":"Unauthorized"}'
    with pytest.raises(JwksError) as info:
        JwksUrl(endpoint.url, endpoint.ca_file, token_file, timeout=5).fetch()
    message = str(info.value)
    assert f"GET {endpoint.url}: HTTP 401" in message and "--jwks-token-file" in message
    assert "secret-fetch-token" not in message


def test_an_untrusted_server_gets_no_token(endpoint: JwksEndpoint, tmp_path: Path) -> None:
    other_ca, _ = self_signed_cert(tmp_path, "other")
    token_file = tmp_path / "token"
    token_file.write_text("secret-fetch-token")
    with pytest.raises(JwksError, match="CERTIFICATE_VERIFY_FAILED"):
        JwksUrl(endpoint.url, other_ca, token_file, timeout=5).fetch()
    assert endpoint.authorizations == []


def test_an_empty_token_file_is_an_error_not_an_anonymous_fetch(
    endpoint: JwksEndpoint, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("  \n")
    with pytest.raises(JwksError, match="is empty"):
        JwksUrl(endpoint.url, endpoint.ca_file, token_file, timeout=5).fetch()
    assert endpoint.authorizations == []
