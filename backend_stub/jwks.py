"""``--auth jwks``: verify a token's signature against the issuer's published key set (JWKS).

Why a second real validator beside the access review
(:class:`backend_stub.auth.SelfSubjectAccessReviewAuthenticator`): a backend
that verifies tokens offline needs no API server round trip per handshake,
and this is how many real backends do it.  The price is **revocation**: a
JWKS proves only "the issuer signed this and it has not expired".  Delete and
recreate a ServiceAccount and its old tokens (bound to the old UID) stay
valid here until their ``exp``, while the API server refuses them at once;
RBAC is not consulted either (only the subject's namespace is checked, 403
like the other validators).  So scenarios that revoke use ``--auth kube``;
``--auth jwks`` shows that rotation works against a backend that trusts
signatures, and that a cluster's real keys verify its real tokens.

Keys come from a file (``--jwks-file``) or a URL (``--jwks-url``, e.g. the
API server's ``/openid/v1/jwks``, which needs a bearer token: any
ServiceAccount may read it through the built-in
``system:service-account-issuer-discovery`` ClusterRole).  That token is
read from its file on every fetch, so a rotated (projected) token is used.

A token names its key by ``kid``.  A ``kid`` the set lacks makes the set be
fetched again (the issuer may have rotated its keys), at most once per
``min_refresh_interval``, so forged ``kid``s cannot turn the backend into
load on the API server.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import jwt
from jwt import PyJWK, PyJWKSet

from backend_stub.auth import INVALID, AuthResult, verify_jwt
from longhaul.logfmt import log_event
from longhaul.tokens import unverified_claims

MAX_JWKS_BYTES = 1024 * 1024
JWKS_MEDIA_TYPE = "application/jwk-set+json"
# Symmetric ("oct") keys are never published by an issuer; accepting one would let
# whoever can write the key set (or a confused algorithm) forge tokens with a shared secret.
ASYMMETRIC = frozenset({"RSA", "EC", "OKP"})


class JwksError(Exception):
    """The key set could not be fetched or used.  The message names the source, never a token."""


class JwksSource(Protocol):
    def describe(self) -> str: ...

    def fetch(self) -> bytes: ...


@dataclass(frozen=True)
class JwksFile:
    path: Path

    def describe(self) -> str:
        return str(self.path)

    def fetch(self) -> bytes:
        try:
            return self.path.read_bytes()[: MAX_JWKS_BYTES + 1]
        except OSError as exc:
            cause = exc.strerror or type(exc).__name__
            raise JwksError(f"cannot read JWKS file {self.path}: {cause}") from None


@dataclass(frozen=True)
class JwksUrl:
    """GET ``url`` over HTTPS verified with ``ca_file``, as the bearer in ``token_file`` if given."""

    url: str
    ca_file: Path | None = None
    token_file: Path | None = None
    timeout: float = 10.0

    def describe(self) -> str:
        return self.url

    def fetch(self) -> bytes:
        # The API server answers 406 to "Accept: application/json": a key set is its own media type.
        headers = {"Accept": f"{JWKS_MEDIA_TYPE}, application/json;q=0.9"}
        if self.token_file is not None:
            headers["Authorization"] = f"Bearer {self._bearer(self.token_file)}"
        request = urllib.request.Request(self.url, headers=headers)
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context)
        )
        try:
            with opener.open(request, timeout=self.timeout) as response:
                return bytes(response.read(MAX_JWKS_BYTES + 1))
        except urllib.error.HTTPError as exc:
            hint = ""
            if exc.code in (401, 403) and self.token_file is None:
                hint = " (a cluster's JWKS needs --jwks-token-file with a ServiceAccount token)"
            elif exc.code in (401, 403):
                hint = (
                    f" (the token in --jwks-token-file {self.token_file} may not read it; any valid "
                    "ServiceAccount token may, through system:service-account-issuer-discovery)"
                )
            raise JwksError(f"GET {self.url}: HTTP {exc.code}{hint}") from None
        except urllib.error.URLError as exc:
            raise JwksError(f"GET {self.url}: {exc.reason}") from None
        except OSError as exc:
            raise JwksError(f"GET {self.url}: {type(exc).__name__}") from None

    @staticmethod
    def _bearer(path: Path) -> str:
        try:
            token = path.read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise JwksError(f"cannot read --jwks-token-file {path}: {type(exc).__name__}") from None
        if not token:
            raise JwksError(f"--jwks-token-file {path} is empty")
        return token


def parse_key_set(data: bytes, source: str) -> list[PyJWK]:
    """The usable signature keys of a JWKS document; a JwksError says why there are none."""
    if len(data) > MAX_JWKS_BYTES:
        raise JwksError(f"JWKS from {source} is larger than {MAX_JWKS_BYTES} bytes")
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise JwksError(f"JWKS from {source} is not JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JwksError(f'JWKS from {source} has no "keys" list')
    published = [
        k
        for k in document["keys"]
        if isinstance(k, dict) and k.get("kty") in ASYMMETRIC and k.get("use", "sig") == "sig"
    ]
    try:
        keys = PyJWKSet(published).keys if published else []
    except jwt.PyJWTError:
        keys = []
    if not keys:
        raise JwksError(f"JWKS from {source} holds no usable public signature key")
    return keys


class KeySet:
    """The issuer's keys by ``kid``, fetched again (rate-limited) when a token names one it lacks."""

    def __init__(
        self,
        source: JwksSource,
        min_refresh_interval: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.source = source
        self.min_refresh_interval = min_refresh_interval
        self.fetches = 0
        self._clock = clock
        self._keys: list[PyJWK] = []
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    def load(self) -> None:
        """Fetch and parse now (blocking); keep the old keys if that fails."""
        self._fetched_at = self._clock()
        self.fetches += 1
        self._keys = parse_key_set(self.source.fetch(), self.source.describe())

    @property
    def kids(self) -> list[str]:
        return [str(k.key_id or "-") for k in self._keys]

    def select(self, kid: str | None) -> PyJWK | None:
        """The key named ``kid``; a token without ``kid`` may use the only key of a one-key set."""
        if kid is None:
            return self._keys[0] if len(self._keys) == 1 else None
        return next((k for k in self._keys if k.key_id == kid), None)

    async def key_for(self, kid: str | None) -> PyJWK | None:
        """The key for ``kid``, refetching the set once if it is unknown and the interval allows."""
        key = self.select(kid)
        if key is not None:
            return key
        async with self._lock:
            key = self.select(kid)  # another handshake may have refreshed meanwhile
            if key is not None or not self._may_refresh():
                return key
            before = self.kids
            await asyncio.to_thread(self.load)
            log_event(
                "jwks_refreshed",
                source=self.source.describe(),
                cause="unknown kid",
                kid=(kid or "")[:64] or None,
                keys=len(self._keys),
                rotated=self.kids != before,
            )
            return self.select(kid)

    def _may_refresh(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at >= self.min_refresh_interval


@dataclass(frozen=True)
class JwksAuthenticator:
    """Pick the key by the token's ``kid``, then verify as :func:`backend_stub.auth.verify_jwt` does."""

    keys: KeySet
    audience: str | None = None
    issuer: str | None = None

    async def authenticate(self, token: str, namespace: str) -> AuthResult:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return AuthResult(401, INVALID, unverified_claims(token))
        if kid is not None and not isinstance(kid, str):
            return AuthResult(401, INVALID, unverified_claims(token))
        try:
            key = await self.keys.key_for(kid)
        except JwksError as exc:
            log_event("jwks_refresh_failed", source=self.keys.source.describe(), error=str(exc))
            return AuthResult(502, "key set refresh failed", unverified_claims(token))
        if key is None:
            return AuthResult(401, INVALID, unverified_claims(token))
        return verify_jwt(
            token, key, [key.algorithm_name], namespace, audience=self.audience, issuer=self.issuer
        )
