"""Operator refreshes a token only once it has expired, not before.

The regression: "refresh when due" implemented as "refresh when the
token-refreshed-at annotation is older than the token's lifetime".  Every
token is used up to its last second and replaced only afterwards, so each
rotation leaves a gap -- the operator's next check plus kubelet's propagation
delay -- in which the mounted token is already rejected and reconnects fail.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime

from bugzoo._override import Override, apply_all
from operator_stub import __main__ as operator
from operator_stub.refresh import RefreshDecision, RefreshPolicy, RefreshReason
from operator_stub.token_secret import TokenRecord, parse_rfc3339

KILLED_BY = ("long-session-survives-rotations",)
SCHEDULED = (RefreshReason.DUE, RefreshReason.NEAR_EXPIRY, RefreshReason.FRESH)
Decide = Callable[[RefreshPolicy, TokenRecord, datetime, "str | None"], RefreshDecision]


def when_expired(decide: Decide) -> Decide:
    def decide_at_expiry(
        self: RefreshPolicy, record: TokenRecord, now: datetime, service_account_uid: str | None
    ) -> RefreshDecision:
        decision = decide(self, record, now, service_account_uid)
        refreshed = parse_rfc3339(record.refreshed_at)
        expires = parse_rfc3339(record.expires_at)
        if decision.reason not in SCHEDULED or refreshed is None or expires is None:
            return decision  # no Secret, replaced ServiceAccount ...: still minted at once
        due_at = refreshed + (expires - refreshed)  # the annotation is older than the token's lifetime
        if now >= due_at:
            return RefreshDecision(refresh=True, reason=RefreshReason.DUE)
        return RefreshDecision(refresh=False, reason=RefreshReason.FRESH, due_at=due_at)

    return decide_at_expiry


OVERRIDES = (Override(RefreshPolicy, "decide", when_expired),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(operator.main())
