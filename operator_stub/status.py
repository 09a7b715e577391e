"""The ``AgenticSession`` status the operator reports, derived purely from what it observed.

Phases follow the upstream enum.  ``Completed`` and ``Failed`` are terminal: the
operator stops refreshing and does not recreate a Job for them, so a finished
session is not resurrected by a later restart of the operator.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

from operator_stub.session import Session
from operator_stub.token_secret import TokenRecord


class Phase(enum.Enum):
    PENDING = "Pending"
    CREATING = "Creating"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"

    @property
    def terminal(self) -> bool:
        return self in (Phase.COMPLETED, Phase.FAILED)


def current_phase(session_object: Mapping[str, Any]) -> Phase | None:
    status = session_object.get("status") or {}
    try:
        return Phase(status.get("phase"))
    except ValueError:
        return None


def phase_for_job(job: Mapping[str, Any] | None) -> Phase:
    """Job (as the API returns it, or None if absent) -> session phase."""
    if job is None:
        return Phase.PENDING
    status = job.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("status") != "True":
            continue
        if condition.get("type") == "Complete":
            return Phase.COMPLETED
        if condition.get("type") == "Failed":
            return Phase.FAILED
    # No readiness probe on the runner: a ready pod is a running runner.
    if (status.get("ready") or 0) > 0:
        return Phase.RUNNING
    return Phase.CREATING


def job_message(job: Mapping[str, Any] | None) -> str:
    """Why a Job ended (e.g. ``BackoffLimitExceeded: Job has reached the specified backoff limit``)."""
    for condition in ((job or {}).get("status") or {}).get("conditions") or []:
        if condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True":
            return ": ".join(part for part in (condition.get("reason"), condition.get("message")) if part)
    return ""


def desired_status(session: Session, phase: Phase, record: TokenRecord, message: str = "") -> dict[str, Any]:
    return {
        "phase": phase.value,
        "message": message,
        "jobName": session.job_name,
        "secretName": session.secret_name,
        "tokenRefreshedAt": record.refreshed_at,
        "tokenExpiresAt": record.expires_at,
        "tokenFingerprint": record.fingerprint,
    }


def rejected_status(message: str) -> dict[str, Any]:
    return {"phase": Phase.FAILED.value, "message": message}


def status_patch(session_object: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any] | None:
    """The fields of ``wanted`` that differ from the CR's status, or None: no write without a change."""
    current = session_object.get("status") or {}
    changed = {key: value for key, value in wanted.items() if current.get(key) != value}
    return changed or None
