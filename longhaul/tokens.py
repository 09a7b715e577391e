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
