"""Planning (observed state -> ordered actions) and status derivation: pure, so tested exhaustively."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from operator_stub.plan import Action, Observed, plan
from operator_stub.refresh import RefreshPolicy
from operator_stub.session import Session
from operator_stub.status import Phase, desired_status, job_message, phase_for_job, status_patch
from operator_stub.token_secret import TokenRecord, format_rfc3339

NOW = datetime(2026, 11, 28, 10, 0, 0, tzinfo=UTC)
POLICY = RefreshPolicy(interval=timedelta(minutes=45), check_period=timedelta(seconds=5))
SESSION = Session(namespace="ns", name="s1", uid="cr-uid", secret_name="ambient-runner-token-s1")
LIVE_UID = "sa-live"


def fresh_token(uid: str = LIVE_UID, age: timedelta = timedelta(minutes=1)) -> TokenRecord:
    return TokenRecord(
        exists=True,
        has_token=True,
        refreshed_at=format_rfc3339(NOW - age),
        expires_at=format_rfc3339(NOW - age + timedelta(hours=1)),
        service_account_uid=uid,
        fingerprint="1a2b3c4d",
    )


TOKENS = st.sampled_from(
    [
        TokenRecord.absent(),
        TokenRecord(exists=True),
        fresh_token(),
        fresh_token(uid="sa-old"),
        fresh_token(age=timedelta(minutes=50)),
        TokenRecord(exists=True, has_token=True, refreshed_at="garbage", service_account_uid=LIVE_UID),
    ]
)
OBSERVED = st.builds(
    Observed,
    session=st.just(SESSION),
    phase=st.none() | st.sampled_from([Phase.PENDING, Phase.CREATING, Phase.RUNNING]),
    service_account_uid=st.sampled_from([None, LIVE_UID]),
    role_exists=st.booleans(),
    role_binding_exists=st.booleans(),
    token=TOKENS,
    job_exists=st.booleans(),
)
ORDER = list(Action)


@settings(max_examples=150, deadline=None)
@given(observed=OBSERVED)
def test_plan_creates_exactly_what_is_missing_in_dependency_order(observed: Observed) -> None:
    actions = list(plan(observed, NOW, POLICY).actions)
    assert actions == sorted(actions, key=ORDER.index), "SA before its token, Secret before the Job"
    assert len(actions) == len(set(actions))
    assert (Action.CREATE_SERVICE_ACCOUNT in actions) == (observed.service_account_uid is None)
    assert (Action.CREATE_ROLE in actions) == (not observed.role_exists)
    assert (Action.CREATE_ROLE_BINDING in actions) == (not observed.role_binding_exists)
    assert (Action.CREATE_JOB in actions) == (not observed.job_exists)
    if Action.CREATE_SERVICE_ACCOUNT in actions:
        assert Action.MINT_TOKEN in actions, "a new ServiceAccount invalidates every older token"
    if not observed.token.exists:
        assert Action.MINT_TOKEN in actions, "the Job's pod must not wait on a Secret nobody creates"


@settings(max_examples=100, deadline=None)
@given(observed=OBSERVED, phase=st.sampled_from([Phase.COMPLETED, Phase.FAILED]))
def test_terminal_sessions_are_left_alone(observed: Observed, phase: Phase) -> None:
    terminal = Observed(**{**observed.__dict__, "phase": phase})
    result = plan(terminal, NOW, POLICY)
    assert result.actions == () and result.refresh is None


def test_a_restarted_operator_adopts_a_converged_session_without_reminting() -> None:
    converged = Observed(SESSION, Phase.RUNNING, LIVE_UID, True, True, fresh_token(), True)
    result = plan(converged, NOW, POLICY)
    assert result.actions == ()
    assert (
        result.refresh is not None and result.refresh.due_at == NOW - timedelta(minutes=1) + POLICY.interval
    )


def test_a_replaced_service_account_triggers_an_immediate_remint() -> None:
    replaced = Observed(SESSION, Phase.RUNNING, LIVE_UID, True, True, fresh_token(uid="sa-old"), True)
    assert plan(replaced, NOW, POLICY).actions == (Action.MINT_TOKEN,)


def test_a_deleted_secret_is_recreated_with_a_new_token_and_the_job_kept() -> None:
    no_secret = Observed(SESSION, Phase.RUNNING, LIVE_UID, True, True, TokenRecord.absent(), True)
    assert plan(no_secret, NOW, POLICY).actions == (Action.MINT_TOKEN,)


def job(**status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "s1-job"}, "status": status}


@pytest.mark.parametrize(
    ("observed_job", "phase"),
    [
        (None, Phase.PENDING),
        (job(), Phase.CREATING),
        (job(active=1), Phase.CREATING),
        (job(active=1, ready=0), Phase.CREATING),
        (job(active=1, ready=1), Phase.RUNNING),
        (job(active=1, ready=1, failed=2), Phase.RUNNING),
        (job(succeeded=1, conditions=[{"type": "Complete", "status": "True"}]), Phase.COMPLETED),
        (job(failed=7, conditions=[{"type": "Failed", "status": "True"}]), Phase.FAILED),
        (job(ready=1, conditions=[{"type": "Failed", "status": "False"}]), Phase.RUNNING),
        (job(conditions=[{"type": "SuccessCriteriaMet", "status": "True"}]), Phase.CREATING),
    ],
)
def test_phase_follows_the_job(observed_job: dict[str, Any] | None, phase: Phase) -> None:
    assert phase_for_job(observed_job) is phase


def test_a_failed_job_explains_itself_in_the_status_message() -> None:
    condition = {
        "type": "Failed",
        "status": "True",
        "reason": "BackoffLimitExceeded",
        "message": "limit reached",
    }
    failed = job(failed=7, conditions=[condition])
    assert job_message(failed) == "BackoffLimitExceeded: limit reached"
    assert job_message(job(active=1)) == "" and job_message(None) == ""


def test_status_is_written_only_when_something_changed() -> None:
    record = fresh_token()
    wanted = desired_status(SESSION, Phase.RUNNING, record)
    assert wanted["tokenFingerprint"] == "1a2b3c4d" and wanted["jobName"] == "s1-job"
    assert status_patch({"status": dict(wanted)}, wanted) is None
    assert status_patch({}, wanted) == {k: v for k, v in wanted.items() if v is not None}
    moved = desired_status(SESSION, Phase.COMPLETED, record)
    assert status_patch({"status": dict(wanted)}, moved) == {"phase": "Completed"}
