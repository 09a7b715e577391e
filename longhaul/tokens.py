"""Token fingerprints and redaction.

A token value must never reach a log, error, report or artifact.  Everything
longhaul prints about a token goes through :func:`fingerprint`; the leak scan
uses :func:`redact` as a last line of defence on text it writes itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

FINGERPRINT_LEN = 8
# A JWT as Kubernetes issues them: base64url JSON header and claims, then a signature.
JWT_SHAPED = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}")


def fingerprint(token: str | bytes) -> str:
    """First 8 hex chars of sha256: stable, short, and useless to an attacker."""
    data = token.encode() if isinstance(token, str) else token
    return hashlib.sha256(data.strip()).hexdigest()[:FINGERPRINT_LEN]


def unverified_claims(token: str) -> dict[str, Any]:
    """Decode a JWT payload without verifying it (for iat/exp in ledgers only).

    Returns {} for anything that is not a JWT; never raises, never echoes input.
    """
    parts = token.strip().split(".")
    if len(parts) != 3:
        return {}
    try:
        pad = "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + pad))
    except (ValueError, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def redact(text: str, tokens: list[str]) -> str:
    """Replace each known token in ``text`` by ``<token:FP>``."""
    for tok in sorted({t.strip() for t in tokens if t.strip()}, key=len, reverse=True):
        text = text.replace(tok, f"<token:{fingerprint(tok)}>")
    return text


def redact_jwt_shaped(text: str) -> str:
    """Replace anything shaped like a JWT by ``<token:FP>``: for text whose tokens are not known
    (a failure message quoting a log line of an implementation under test)."""
    return JWT_SHAPED.sub(lambda m: f"<token:{fingerprint(m.group())}>", text)


_WINDOW = 16  # base64url characters: 96 random bits of a signature, never a false positive
_SECRET_RUN = re.compile(r"[A-Za-z0-9_-]+")
_TOKEN_RUN = re.compile(r"[A-Za-z0-9_.-]+")
WITHHELD = "[token withheld]"


def _digest(window: str) -> str:
    return hashlib.sha256(window.encode()).hexdigest()[:16]


def _windows(token: str) -> list[str]:
    """What identifies a token in text: the first and last 16 characters of a JWT's signature (its
    header and claims are shared or public), or of an opaque token; a short token as a whole."""
    parts = token.split(".")
    secret = parts[2] if len(parts) == 3 and len(parts[2]) >= _WINDOW else token
    if len(secret) < _WINDOW:
        return [secret] if secret else []
    return [secret[:_WINDOW], secret[-_WINDOW:]]


@dataclass(frozen=True)
class TokenProbe:
    """Finds the tokens of one scenario in text without holding them.

    Why not keep the tokens: whatever judges and reports a scenario (its evidence, the run report)
    outlives the watch that saw the tokens and may be printed or pickled.  The probe keeps only
    truncated sha256 digests of 16-character windows of each token, so it can travel with the
    evidence and still say "this text contains one of them" and withhold it.
    """

    digests: dict[int, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def of(cls, tokens: Iterable[str]) -> TokenProbe:
        by_length: dict[int, set[str]] = {}
        for token in (t.strip() for t in tokens):
            for window in _windows(token):
                by_length.setdefault(len(window), set()).add(_digest(window))
        return cls({n: frozenset(d) for n, d in by_length.items()})

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where a window of a token occurs: (start, end) of each hit, in order."""
        hits: list[tuple[int, int]] = []
        for run in _SECRET_RUN.finditer(text):
            word = run.group()
            for n, digests in self.digests.items():
                hits += [
                    (run.start() + i, run.start() + i + n)
                    for i in range(len(word) - n + 1)
                    if _digest(word[i : i + n]) in digests
                ]
        return sorted(hits)

    def withhold(self, text: str) -> tuple[str, int]:
        """``text`` with every token-shaped run that holds a hit replaced by ``[token withheld]``,
        and how many runs were replaced."""
        hits = self.spans(text)
        if not hits:
            return text, 0
        out, at, count = [], 0, 0
        for run in _TOKEN_RUN.finditer(text):
            if any(run.start() <= s < run.end() for s, _ in hits):
                out += [text[at : run.start()], WITHHELD]
                at, count = run.end(), count + 1
        return "".join(out) + text[at:], count
