"""Operator does not notice that the session's ServiceAccount was replaced; it refreshes on schedule only.

The regression: the ServiceAccount-UID check is dropped as redundant ("the
token is refreshed well before it expires anyway").  A recreated
ServiceAccount revokes every token it had at once (after the API server's
10 s authentication cache), so the runner is locked out until the next
scheduled refresh -- 45 minutes with the contract's interval.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from datetime import datetime

from bugzoo._override import Override, apply_all
from operator_stub import __main__ as operator
from operator_stub.refresh import RefreshDecision, RefreshPolicy
from operator_stub.token_secret import TokenRecord

KILLED_BY = ("service-account-recreated-within-auth-cache",)
Decide = Callable[[RefreshPolicy, TokenRecord, datetime, "str | None"], RefreshDecision]


def schedule_only(decide: Decide) -> Decide:
    def decide_without_uid_check(
        self: RefreshPolicy, record: TokenRecord, now: datetime, service_account_uid: str | None
    ) -> RefreshDecision:
        if record.exists and service_account_uid is not None:
            record = dataclasses.replace(record, service_account_uid=service_account_uid)
        return decide(self, record, now, service_account_uid)

    return decide_without_uid_check


OVERRIDES = (Override(RefreshPolicy, "decide", schedule_only),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(operator.main())
