"""How the backend decides whether a WebSocket caller may talk about a session.

Two authenticators with the same answers as the real backend (401 ``Token
expired or invalid``, 403 not allowed, 401 no token):

* :class:`SelfSubjectAccessReviewAuthenticator` does what upstream does: asks
  the apiserver, *with the caller's token*, whether it may ``list
  agenticsessions`` in the namespace.  Expiry, a recreated ServiceAccount and
  RBAC are thereby judged by the real cluster.
* :class:`JwtKeyAuthenticator` verifies a JWT against a public key the harness
  holds, for component tests that have no cluster; a ServiceAccount subject
  from another namespace gets 403.
* :class:`backend_stub.jwks.JwksAuthenticator` does the same against the
  issuer's published key set (a cluster's ``/openid/v1/jwks``); see there for
  what it cannot see that the access review does.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

import jwt

from longhaul.contract import GROUP, PLURAL
from longhaul.tokens import unverified_claims

INVALID = "Token expired or invalid"
SA_PREFIX = "system:serviceaccount:"


@dataclass(frozen=True)
class AuthResult:
    status: int  # 101 allowed, else the HTTP status to answer with
    reason: str
    claims: Mapping[str, Any] = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        return self.status == 101


class Authenticator(Protocol):
    async def authenticate(self, token: str, namespace: str) -> AuthResult: ...


def extract_token(headers: Mapping[str, str], path: str) -> str | None:
    """Token from ``Authorization: Bearer``, else ``X-Forwarded-Access-Token``, else ``?token=``."""
    auth = headers.get("Authorization", "")
    scheme, _, value = auth.strip().partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    forwarded = headers.get("X-Forwarded-Access-Token", "").strip()
    if forwarded:
        return forwarded
    for value in parse_qs(urlsplit(path).query).get("token", []):
        if value.strip():
            return value.strip()
    return None


def verify_jwt(
    token: str,
    key: Any,
    algorithms: Sequence[str],
    namespace: str,
    *,
    audience: str | None = None,
    issuer: str | None = None,
) -> AuthResult:
    """Signature, ``exp`` (required), ``nbf``, and audience/issuer when given; then the namespace rule.

    Any failure is 401 ``Token expired or invalid`` (the caller learns nothing
    about which check failed; the claims still go to the ledger for iat/exp).
    A valid ServiceAccount token of another namespace is 403, as RBAC would answer.
    """
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=list(algorithms),
            audience=audience,
            issuer=issuer,
            options={"require": ["exp"], "verify_aud": audience is not None},
        )
    except jwt.PyJWTError:
        return AuthResult(401, INVALID, unverified_claims(token))
    subject = str(claims.get("sub", ""))
    if subject.startswith(SA_PREFIX) and subject[len(SA_PREFIX) :].split(":", 1)[0] != namespace:
        return AuthResult(403, f"not allowed to list {PLURAL}.{GROUP} in namespace {namespace}", claims)
    return AuthResult(101, "accepted", claims)


@dataclass(frozen=True)
class JwtKeyAuthenticator:
    """Verify signature, exp/nbf and (optionally) audience and issuer against ``public_key_pem``."""

    public_key_pem: bytes
    audience: str | None = None
    algorithms: tuple[str, ...] = ("RS256", "ES256")
    issuer: str | None = None

    @classmethod
    def from_file(
        cls, path: Path, audience: str | None = None, issuer: str | None = None
    ) -> JwtKeyAuthenticator:
        return cls(path.read_bytes(), audience, issuer=issuer)

    async def authenticate(self, token: str, namespace: str) -> AuthResult:
        return verify_jwt(
            token, self.public_key_pem, self.algorithms, namespace, audience=self.audience, issuer=self.issuer
        )


@dataclass(frozen=True)
class SelfSubjectAccessReviewAuthenticator:
    """Ask the apiserver, as the caller, whether it may list AgenticSessions in the namespace."""

    api_url: str
    ca_file: Path | None = None
    insecure: bool = False
    timeout: float = 10.0

    async def authenticate(self, token: str, namespace: str) -> AuthResult:
        return await asyncio.to_thread(self._review, token, namespace)

    def _review(self, token: str, namespace: str) -> AuthResult:
        claims = unverified_claims(token)
        body = json.dumps(
            {
                "apiVersion": "authorization.k8s.io/v1",
                "kind": "SelfSubjectAccessReview",
                "spec": {
                    "resourceAttributes": {
                        "namespace": namespace,
                        "verb": "list",
                        "group": GROUP,
                        "resource": PLURAL,
                    }
                },
            }
        ).encode()
        request = urllib.request.Request(
            self.api_url.rstrip("/") + "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            data=body,
            method="POST",
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Accept": "application/json",
            },
        )
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        if self.insecure:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
        )
        try:
            with opener.open(request, timeout=self.timeout) as response:
                review = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 401:
                return AuthResult(401, INVALID, claims)
            return AuthResult(502, f"access review failed: HTTP {exc.code}", claims)
        except (OSError, ValueError) as exc:
            return AuthResult(502, f"access review failed: {type(exc).__name__}", claims)
        if review.get("status", {}).get("allowed") is True:
            return AuthResult(101, "accepted", claims)
        return AuthResult(403, f"not allowed to list {PLURAL}.{GROUP} in namespace {namespace}", claims)
