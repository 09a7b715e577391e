"""Observed state of one session -> the ordered actions that converge it.  Pure.

Level-triggered like a kopf/controller-runtime reconciler: the plan depends only
on what exists now, never on what the operator did before, which is what lets
a restarted operator re-adopt its sessions without re-minting fresh tokens.
Order matters and is fixed: the ServiceAccount before its token, the Secret
before the Job whose pod mounts it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from operator_stub.refresh import RefreshDecision, RefreshPolicy
from operator_stub.session import Session
from operator_stub.status import Phase
from operator_stub.token_secret import TokenRecord


class Action(enum.Enum):
    CREATE_SERVICE_ACCOUNT = "create-service-account"
    CREATE_ROLE = "create-role"
    CREATE_ROLE_BINDING = "create-role-binding"
    MINT_TOKEN = "mint-token"
    CREATE_JOB = "create-job"


@dataclass(frozen=True)
class Observed:
    session: Session
    phase: Phase | None  # the CR's status.phase as last written
    service_account_uid: str | None  # None: no ServiceAccount
    role_exists: bool
    role_binding_exists: bool
    token: TokenRecord
    job_exists: bool


@dataclass(frozen=True)
class Plan:
    actions: tuple[Action, ...]
    refresh: RefreshDecision | None  # None when the session is terminal and left alone


def plan(observed: Observed, now: datetime, policy: RefreshPolicy) -> Plan:
    if observed.phase is not None and observed.phase.terminal:
        return Plan(actions=(), refresh=None)
    actions: list[Action] = []
    if observed.service_account_uid is None:
        actions.append(Action.CREATE_SERVICE_ACCOUNT)
    if not observed.role_exists:
        actions.append(Action.CREATE_ROLE)
    if not observed.role_binding_exists:
        actions.append(Action.CREATE_ROLE_BINDING)
    decision = policy.decide(observed.token, now, observed.service_account_uid)
    if decision.refresh:
        actions.append(Action.MINT_TOKEN)
    if not observed.job_exists:
        actions.append(Action.CREATE_JOB)
    return Plan(actions=tuple(actions), refresh=decision)
