"""What a session's token Secret records about its token, and the freshly minted token itself.

The Secret's annotations are the operator's only memory: after a restart it
re-adopts sessions by reading them, so they carry everything the refresh
decision needs (when minted, when it expires, for which ServiceAccount UID).
The token value is held only by :class:`MintedToken` and never printed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from longhaul import contract
from longhaul.tokens import fingerprint

REFRESHED_AT: Final = contract.REFRESHED_AT_ANNOTATION
EXPIRES_AT: Final = "ambient-code.io/token-expires-at"
SERVICE_ACCOUNT_UID: Final = "ambient-code.io/service-account-uid"
FINGERPRINT: Final = "ambient-code.io/token-fingerprint"

_RFC3339: Final = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")


def format_rfc3339(moment: datetime) -> str:
    """Seconds precision with ``Z``: the same bytes Go's ``time.RFC3339`` writes upstream."""
    return moment.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def parse_rfc3339(text: object) -> datetime | None:
    """An aware UTC datetime, or None for anything that is not an RFC 3339 date-time.

    Stricter than ``fromisoformat`` on purpose: an annotation another writer
    mangled must count as unparsable (and so trigger a re-mint), not be guessed at.
    """
    if not isinstance(text, str):
        return None
    candidate = text.strip().upper()
    if _RFC3339.fullmatch(candidate) is None:
        return None
    try:
        moment = datetime.fromisoformat(candidate.replace("Z", "+00:00"))
    except ValueError:  # e.g. month 13: the shape matched but the date does not exist
        return None
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class MintedToken:
    """A TokenRequest result.  ``repr`` shows the fingerprint, never the value."""

    value: str = field(repr=False)
    minted_at: datetime
    expires_at: datetime
    service_account_uid: str

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.value)

    def annotations(self) -> dict[str, str]:
        return {
            REFRESHED_AT: format_rfc3339(self.minted_at),
            EXPIRES_AT: format_rfc3339(self.expires_at),
            SERVICE_ACCOUNT_UID: self.service_account_uid,
            FINGERPRINT: self.fingerprint,
        }


@dataclass(frozen=True)
class TokenRecord:
    """The token-relevant facts of a Secret (or of its absence).  Holds no token value."""

    exists: bool
    has_token: bool = False
    refreshed_at: str | None = None
    expires_at: str | None = None
    service_account_uid: str | None = None
    fingerprint: str | None = None
    # ``immutable: true``: no patch of its data can succeed, and kubelet stops watching it.
    immutable: bool = False

    @classmethod
    def absent(cls) -> TokenRecord:
        return cls(exists=False)

    @classmethod
    def from_secret(cls, secret: Mapping[str, Any] | None) -> TokenRecord:
        if secret is None:
            return cls.absent()
        meta = secret.get("metadata") or {}
        annotations = meta.get("annotations") or {}
        data = secret.get("data") or {}
        return cls(
            exists=True,
            has_token=bool(data.get(contract.TOKEN_SECRET_KEY)),
            refreshed_at=annotations.get(REFRESHED_AT),
            expires_at=annotations.get(EXPIRES_AT),
            service_account_uid=annotations.get(SERVICE_ACCOUNT_UID),
            fingerprint=annotations.get(FINGERPRINT),
            immutable=secret.get("immutable") is True,
        )

    @classmethod
    def of(cls, token: MintedToken) -> TokenRecord:
        notes = token.annotations()
        return cls(
            exists=True,
            has_token=bool(token.value),
            refreshed_at=notes[REFRESHED_AT],
            expires_at=notes[EXPIRES_AT],
            service_account_uid=token.service_account_uid,
            fingerprint=token.fingerprint,
        )
