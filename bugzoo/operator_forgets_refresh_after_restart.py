"""Operator stops refreshing the sessions it finds after its own restart.

The regression: refresh schedules live in the operator's memory, armed when
it mints a session's first token.  A restarted operator adopts the running
sessions (their Jobs, Secrets and status) but never re-arms their refresh,
so every session older than the restart runs on its last token until the
backend rejects it.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from datetime import datetime

from bugzoo._override import Override, apply_all
from operator_stub import __main__ as operator
from operator_stub import reconcile
from operator_stub.plan import Action, Observed, Plan
from operator_stub.refresh import RefreshPolicy

KILLED_BY = ("operator-restarted-mid-session",)
PlanFn = Callable[[Observed, datetime, RefreshPolicy], Plan]


def in_memory_schedule(plan: PlanFn) -> PlanFn:
    armed: set[str] = set()  # session UIDs whose first token this process minted

    def plan_with_schedule(observed: Observed, now: datetime, policy: RefreshPolicy) -> Plan:
        steps = plan(observed, now, policy)
        if Action.MINT_TOKEN not in steps.actions:
            return steps
        uid = observed.session.uid
        if observed.token.exists and uid not in armed:
            # A Secret from before this process started: no refresh was ever scheduled for it.
            kept = tuple(a for a in steps.actions if a is not Action.MINT_TOKEN)
            return dataclasses.replace(steps, actions=kept)
        armed.add(uid)
        return steps

    return plan_with_schedule


OVERRIDES = (Override(reconcile, "plan", in_memory_schedule),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(operator.main())
