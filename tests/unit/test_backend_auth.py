"""The backend's answers: where it finds a token, and 101/401/403 like the real backend.

The access-review authenticator is exercised over real HTTPS against a small
stand-in for the apiserver's SelfSubjectAccessReview endpoint (that it asks
the right question is checked here; that a real apiserver agrees is the
cluster tier's job).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given
from hypothesis import strategies as st
from websockets.datastructures import Headers

from backend_stub.auth import (
    INVALID,
    JwtKeyAuthenticator,
    SelfSubjectAccessReviewAuthenticator,
    extract_token,
)
from longhaul.fixtures.rigs.tls import self_signed_cert, serving_https
from longhaul.fixtures.rigs.token_issuer import TokenIssuer

NS = "team-a"
tokens = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=40)


@given(tokens, tokens, tokens)
def test_bearer_beats_forwarded_beats_query(bearer: str, forwarded: str, query: str) -> None:
    path = f"/ws?token={query}"
    all_three = Headers({"Authorization": f"Bearer {bearer}", "X-Forwarded-Access-Token": forwarded})
    assert extract_token(all_three, "/ws") == bearer
    assert extract_token(Headers({"X-Forwarded-Access-Token": forwarded}), path) == forwarded
    assert extract_token(Headers(), "/ws?token=abc&x=1") == "abc"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer   "},
        {"X-Forwarded-Access-Token": " "},
    ],
)
def test_no_usable_token_is_none(headers: dict[str, str]) -> None:
    assert extract_token(Headers(headers), "/ws?token=") is None


def test_header_names_are_case_insensitive() -> None:
    assert extract_token(Headers({"authorization": "bearer t0k"}), "/ws") == "t0k"


@pytest.fixture(scope="module")
def issuer() -> TokenIssuer:
    return TokenIssuer(namespace=NS)


def _authenticate(issuer: TokenIssuer, token: str, namespace: str = NS, audience: str | None = None) -> Any:
    return asyncio.run(JwtKeyAuthenticator(issuer.public_key_pem(), audience).authenticate(token, namespace))


def test_valid_token_is_accepted_with_its_claims(issuer: TokenIssuer) -> None:
    result = _authenticate(issuer, issuer.mint("ambient-session-s1", lifetime=60))
    assert result.allowed and result.claims["sub"] == f"system:serviceaccount:{NS}:ambient-session-s1"


@pytest.mark.parametrize(
    ("case", "status", "reason"),
    [
        ("expired", 401, INVALID),
        ("not yet valid", 401, INVALID),
        ("foreign key", 401, INVALID),
        ("garbage", 401, INVALID),
        ("other namespace", 403, f"not allowed to list agenticsessions.vteam.ambient-code in namespace {NS}"),
    ],
)
def test_rejections(issuer: TokenIssuer, case: str, status: int, reason: str) -> None:
    makers: dict[str, Callable[[], str]] = {
        "expired": lambda: issuer.mint("sa", lifetime=-5),
        "not yet valid": lambda: issuer.mint("sa", not_before=2**31),
        "foreign key": lambda: issuer.mint(
            "sa", signer=rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ),
        "garbage": lambda: "not-a-jwt",
        "other namespace": lambda: issuer.mint("sa", namespace="team-b"),
    }
    token = makers[case]()
    result = _authenticate(issuer, token)
    assert (result.status, result.reason) == (status, reason)


def test_expired_rejection_still_reports_claims_for_the_ledger(issuer: TokenIssuer) -> None:
    result = _authenticate(issuer, issuer.mint("sa", lifetime=-5))
    assert result.status == 401 and result.claims["exp"] < result.claims["iat"] + 1


def test_audience_is_enforced_when_configured(issuer: TokenIssuer) -> None:
    assert _authenticate(issuer, issuer.mint("sa"), audience="backend").status == 401


# --- SelfSubjectAccessReview against a stand-in apiserver over HTTPS -------------------------------


@dataclass
class FakeAccessReviewAPI:
    """Answers POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews; records what it was asked."""

    ca_file: Path
    url: str = ""
    reply: tuple[int, dict[str, Any]] = (201, {"status": {"allowed": True}})
    requests: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[FakeAccessReviewAPI]:
    cert_file, key_file = self_signed_cert(tmp_path)
    state = FakeAccessReviewAPI(ca_file=cert_file)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append((self.path, dict(self.headers), body))
            status, reply = state.reply
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    with serving_https(Handler, cert_file, key_file) as base_url:
        state.url = base_url
        yield state


def _review(api: FakeAccessReviewAPI, token: str = "caller-token") -> Any:
    auth = SelfSubjectAccessReviewAuthenticator(api.url, api.ca_file, timeout=5)
    return asyncio.run(auth.authenticate(token, NS))


def test_access_review_asks_as_the_caller_about_agenticsessions(api: FakeAccessReviewAPI) -> None:
    assert _review(api).allowed
    path, headers, body = api.requests[-1]
    assert path == "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
    assert headers["Authorization"] == "Bearer caller-token"
    assert body["kind"] == "SelfSubjectAccessReview"
    assert body["spec"]["resourceAttributes"] == {
        "namespace": NS,
        "verb": "list",
        "group": "vteam.ambient-code",
        "resource": "agenticsessions",
    }


@pytest.mark.parametrize(
    ("reply", "status"),
    [
        ((201, {"status": {"allowed": False}}), 403),
        ((201, {"status": {}}), 403),
        ((401, {"kind": "Status", "code": 401}), 401),
        ((500, {}), 502),
    ],
)
def test_access_review_outcomes(
    api: FakeAccessReviewAPI, reply: tuple[int, dict[str, Any]], status: int
) -> None:
    api.reply = reply
    result = _review(api)
    assert result.status == status
    if status == 401:
        assert result.reason == INVALID


def test_access_review_refuses_an_untrusted_apiserver(api: FakeAccessReviewAPI, tmp_path: Path) -> None:
    other_ca, _ = self_signed_cert(tmp_path, "other")
    auth = SelfSubjectAccessReviewAuthenticator(api.url, other_ca, timeout=5)
    result = asyncio.run(auth.authenticate("caller-token", NS))
    assert result.status == 502 and not api.requests
