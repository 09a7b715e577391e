"""When to re-mint a session token: a pure decision from a clock reading and a :class:`TokenRecord`.

Two deadlines apply and the earlier wins: the refresh interval since the last
mint (the contract's 45 minutes), and the token's own expiry minus a margin of
one check period (the operator might look next only that much later) plus the
time kubelet needs to propagate a Secret update into the pod.  The second one
guarantees a mounted token never expires while the cluster behaves, even when
the API server issued a shorter token than requested.  Anything the record
cannot vouch for (no Secret, no token, a missing or mangled or future
timestamp, a replaced ServiceAccount, a Secret made immutable) means: mint now.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from operator_stub.token_secret import TokenRecord, parse_rfc3339


class RefreshReason(enum.Enum):
    SECRET_MISSING = "secret-missing"
    SECRET_IMMUTABLE = "secret-immutable"
    TOKEN_MISSING = "token-missing"
    SERVICE_ACCOUNT_MISSING = "service-account-missing"
    ANNOTATION_MISSING = "annotation-missing"
    ANNOTATION_UNPARSABLE = "annotation-unparsable"
    ANNOTATION_IN_FUTURE = "annotation-in-future"
    SERVICE_ACCOUNT_REPLACED = "service-account-replaced"
    NEAR_EXPIRY = "near-expiry"
    DUE = "due"
    FRESH = "fresh"


@dataclass(frozen=True)
class RefreshDecision:
    refresh: bool
    reason: RefreshReason
    due_at: datetime | None = None  # when a FRESH token becomes due; None when refreshing now


@dataclass(frozen=True)
class RefreshPolicy:
    interval: timedelta
    check_period: timedelta
    propagation_allowance: timedelta = timedelta(seconds=90)
    # A refreshed-at this far ahead of our clock is not skew but a bogus record.
    future_tolerance: timedelta = timedelta(seconds=60)

    @property
    def expiry_margin(self) -> timedelta:
        """Remaining lifetime below which a token is replaced, whatever the interval says."""
        return self.check_period + self.propagation_allowance

    def decide(self, record: TokenRecord, now: datetime, service_account_uid: str | None) -> RefreshDecision:
        """``service_account_uid`` is the live SA's UID, or None when the SA does not exist (yet)."""
        if not record.exists:
            return _now(RefreshReason.SECRET_MISSING)
        if record.immutable:  # it can never be refreshed in place: replace it while the token is good
            return _now(RefreshReason.SECRET_IMMUTABLE)
        if service_account_uid is None:
            return _now(RefreshReason.SERVICE_ACCOUNT_MISSING)
        if not record.has_token:
            return _now(RefreshReason.TOKEN_MISSING)
        if record.refreshed_at is None:
            return _now(RefreshReason.ANNOTATION_MISSING)
        refreshed_at = parse_rfc3339(record.refreshed_at)
        if refreshed_at is None:
            return _now(RefreshReason.ANNOTATION_UNPARSABLE)
        if refreshed_at > now + self.future_tolerance:
            return _now(RefreshReason.ANNOTATION_IN_FUTURE)
        # Tokens are bound to the SA's UID: a recreated SA invalidates them at once.
        if record.service_account_uid != service_account_uid:
            return _now(RefreshReason.SERVICE_ACCOUNT_REPLACED)
        due_at = refreshed_at + self.interval
        reason = RefreshReason.DUE
        if record.expires_at is not None:
            expires_at = parse_rfc3339(record.expires_at)
            if expires_at is None:
                return _now(RefreshReason.ANNOTATION_UNPARSABLE)
            if expires_at - self.expiry_margin < due_at:
                due_at, reason = expires_at - self.expiry_margin, RefreshReason.NEAR_EXPIRY
        if now >= due_at:
            return _now(reason)
        return RefreshDecision(refresh=False, reason=RefreshReason.FRESH, due_at=due_at)

    def validate_lifetime(self, token_lifetime: timedelta) -> None:
        """Refuse a configuration whose tokens would expire before their replacement is mounted."""
        needed = self.interval + self.expiry_margin
        if needed > token_lifetime:
            raise ValueError(
                f"refresh interval {_secs(self.interval)} + check period {_secs(self.check_period)} "
                f"+ propagation allowance {_secs(self.propagation_allowance)} = {_secs(needed)} exceeds the "
                f"token expiration {_secs(token_lifetime)}: a mounted token could expire before its "
                "replacement reaches the pod; lower --refresh-interval or raise --token-expiration-seconds"
            )


def _now(reason: RefreshReason) -> RefreshDecision:
    return RefreshDecision(refresh=True, reason=reason)


def _secs(delta: timedelta) -> str:
    return f"{delta.total_seconds():g}s"
