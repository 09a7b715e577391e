"""Early verdicts: an expectation may end a run before its deadline only when it has failed for good.

Each ``violated`` is checked twice: a crafted evidence object with the defect
makes it (and the final ``problems``) report it, and legitimate evidence of a
run still in progress does not, so a run is never cut short by a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import pytest

from longhaul.contract import Contract
from longhaul.ledger import Closed, Delivery, Handshake, Record, Request, TcpAccept, evidence_of
from longhaul.scenarios.catalog import FAST_TIER
from longhaul.scenarios.evidence import Evidence, FaultRecord, Rotation, RunnerRun
from longhaul.scenarios.expectations import (
    EveryHandshakeRejected,
    ExactlyOnceDelivery,
    GivesUpWithin,
    NewTokenOnReconnect,
    NoHandshakes,
    NoTokenlessHandshake,
    PodSpecFollowsContract,
    RecoversWithin,
    Rotations,
    RotationsAfterFault,
    RunnerExit,
    SessionFinished,
    TokensCarryAudience,
)
from longhaul.scenarios.model import DecidedEarly

T0 = 1_000_000.0
SESSION = "s-1"


def _evidence(
    records: Sequence[Record] = (), runs: Sequence[RunnerRun] = (), fps: Sequence[str] = ()
) -> Evidence:
    ev = Evidence("x", "ns", SESSION, started=T0)
    ev.ledger = evidence_of(SESSION, records)
    ev.runs = list(runs)
    ev.rotations = [Rotation(T0 + i, fp) for i, fp in enumerate(fps)]
    return ev


def _hs(
    status: int, fp: str | None, t: float, *, iat: int | None = None, aud: str | None = None
) -> Handshake:
    return Handshake("c", "ns", SESSION, status, "", token_fp=fp, iat=iat, t=T0 + t, aud=aud)


def _run(
    exit_code: int | None = None, *, started: float = 1, finished: float | None = None, deleted: bool = False
) -> RunnerRun:
    phase = "Running" if exit_code is None else ("Succeeded" if exit_code == 0 else "Failed")
    end = None if finished is None else T0 + finished
    return RunnerRun("p", phase, exit_code, T0 + started, end, "", {}, uid="u", deleted_by_fault=deleted)


def test_a_handshake_decides_no_handshakes_at_once() -> None:
    assert NoHandshakes().violated(_evidence(), T0 + 5) == []
    bad = _evidence([_hs(401, "aaaa", 1)])
    assert NoHandshakes().violated(bad, T0 + 1)
    assert NoHandshakes().problems(bad)


@pytest.mark.parametrize(
    "record",
    [
        TcpAccept("c", "198.18.0.5:4242", t=T0 + 1),
        Request("c", "GET", "/api/projects/ns/sessions/s-1/wrong", 404, t=T0 + 1),
        Request("c", "", "", 0, reason="no HTTP request (InvalidMessage)", t=T0 + 1),
    ],
    ids=["tcp-accept", "wrong-path-404", "tls-to-plain-port"],
)
def test_any_contact_below_a_handshake_decides_no_handshakes(record: Record) -> None:
    bad = _evidence([record])
    found = NoHandshakes().violated(bad, T0 + 2)
    assert found and "1 connection attempts" in found[0], found
    assert NoHandshakes().problems(bad) == found


def test_a_request_naming_another_session_is_not_this_sessions_contact() -> None:
    other = Request("c", "GET", "/api/projects/ns/sessions/s-2/ws", 401, session="s-2", t=T0 + 1)
    assert NoHandshakes().violated(_evidence([other]), T0 + 2) == []


def test_an_unexpected_non_zero_exit_decides_session_finished_but_a_deleted_pod_does_not() -> None:
    assert SessionFinished().violated(_evidence(runs=[_run()]), T0 + 5) == []
    deleted = _evidence(runs=[_run(143, finished=3, deleted=True), _run()])
    assert SessionFinished().violated(deleted, T0 + 5) == []
    crashed = _evidence(runs=[_run(75, finished=3)])
    assert SessionFinished().violated(crashed, T0 + 5) == [
        "runner pod p exited 75 before the session finished"
    ]


def test_going_back_to_an_older_token_decides_but_a_slow_rotation_does_not() -> None:
    expectation = NewTokenOnReconnect(at_least=3)
    slow = _evidence([_hs(101, "aaaa", 1), _hs(101, "aaaa", 5)], fps=["aaaa", "bbbb"])
    assert expectation.violated(slow, T0 + 6) == []  # fewer reconnects so far is not a verdict yet
    assert expectation.problems(slow)  # ... but it is one at the end
    back = _evidence([_hs(101, "aaaa", 1), _hs(101, "bbbb", 5), _hs(101, "aaaa", 9)], fps=["aaaa", "bbbb"])
    assert expectation.violated(back, T0 + 10)


def test_an_acked_duplicate_decides_exactly_once() -> None:
    once = [Delivery("c", SESSION, "r", seq, "aaaa", duplicate=False, t=T0 + seq) for seq in (1, 2)]
    assert ExactlyOnceDelivery().violated(_evidence(once), T0 + 3) == []
    twice = [*once, Delivery("c", SESSION, "r", 2, "aaaa", duplicate=True, t=T0 + 3)]
    assert ExactlyOnceDelivery().violated(_evidence(twice), T0 + 4)


def test_a_wrong_pod_spec_decides_at_once() -> None:
    bad = RunnerRun("p", "Running", None, T0, None, "", {"containers": [{"name": "runner"}]}, uid="u")
    assert PodSpecFollowsContract(Contract.BOT_TOKEN_PATH).violated(_evidence(runs=[bad]), T0)


def test_an_exit_bound_is_decided_only_once_it_has_clearly_passed() -> None:
    bound = RunnerExit(66, within=10)
    running = _evidence(runs=[_run(started=1)])
    assert bound.violated(running, T0 + 11) == []  # within the bound plus the clock's slack
    # Past the bound, but a status read now may still say Running for a runner that has exited.
    assert bound.violated(running, T0 + 20) == []
    assert bound.violated(running, T0 + 24)
    assert bound.violated(_evidence(runs=[_run(66, finished=2)]), T0 + 30) == []


def test_giving_up_is_bounded_from_the_moment_the_runner_went_offline() -> None:
    bound = GivesUpWithin(13)
    offline = [
        _hs(101, "aaaa", 1),
        Closed("c", SESSION, 1000, "token aged out", t=T0 + 11),
        _hs(401, "aaaa", 12),
    ]
    assert bound.violated(_evidence(offline, runs=[_run()]), T0 + 20) == []
    # Quiet since: it has most likely exited, its status not yet in the API (seen to lag > 10 s).
    assert bound.violated(_evidence(offline, runs=[_run()]), T0 + 40) == []
    assert bound.violated(_evidence(offline, runs=[_run()]), T0 + 57)  # 46 s offline, still "running"
    assert bound.problems(_evidence(offline, runs=[_run(75, finished=20)])) == []
    late = bound.problems(_evidence(offline, runs=[_run(75, finished=30)]))
    assert late and "19s after going offline" in late[0]
    reconnected = [*offline, _hs(101, "bbbb", 14)]
    assert bound.violated(_evidence(reconnected, runs=[_run()]), T0 + 60) == []  # back online: no clock


@pytest.mark.parametrize(
    "sign",
    [
        _hs(401, "aaaa", 27),
        TcpAccept("c9", "10.0.0.9:4242", t=T0 + 27),
        Request("c9", "GET", "/wrong", 404, t=T0 + 27),
    ],
    ids=["handshake", "tcp-accept", "request"],
)
def test_a_runner_still_dialling_past_its_bound_is_decided_at_once_whatever_its_status(sign: Record) -> None:
    """The backend's own record of a dial is proof of life no status lag can make stale."""
    bound = GivesUpWithin(13)
    offline = [_hs(101, "aaaa", 1), Closed("c", SESSION, 1000, "token aged out", t=T0 + 11)]
    within = [*offline, replace(sign, t=T0 + 25)]  # type: ignore[type-var]
    assert bound.violated(_evidence(within, runs=[_run()]), T0 + 28) == []  # 14 s: within bound + slack
    found = bound.violated(_evidence([*offline, sign], runs=[_run()]), T0 + 28)
    assert found and "still dialling the backend 16s after going offline" in found[0]
    health = Request("c8", "GET", "/health", 200, t=T0 + 27, health=True)
    assert bound.violated(_evidence([*offline, health], runs=[_run()]), T0 + 28) == []  # not a dial


def test_every_early_expectation_of_the_fast_tier_agrees_with_its_final_judgement() -> None:
    """What ends a run early must also fail it at the end: violated is a subset of problems."""
    crashed = _evidence([_hs(401, "aaaa", 1)], runs=[_run(75, finished=3)], fps=["aaaa"])
    crashed.ended = T0 + 60
    for scenario in FAST_TIER:
        for expectation in scenario.expect:
            if isinstance(expectation, DecidedEarly) and expectation.violated(crashed, T0 + 60):
                assert expectation.problems(crashed), (scenario.name, expectation.label)


def test_after_an_early_end_only_what_was_decided_fails_and_the_rest_is_not_judged() -> None:
    """The bug zoo's kill matrix needs the cause, not the consequences of cutting the run short."""
    long_session = next(s for s in FAST_TIER if s.name == "long-session-survives-rotations")
    # With an expectation judged only on a complete run (no early verdict of its own) beside the rest.
    scenario = replace(long_session, expect=(Rotations(at_least=3), *long_session.expect))
    bad = RunnerRun("p", "Running", None, T0, None, "", {"containers": [{"name": "runner"}]}, uid="u")
    evidence = _evidence([_hs(101, "aaaa", 1)], runs=[bad], fps=["aaaa"])
    evidence.ended, evidence.decided_at = T0 + 5, T0 + 5
    evidence.decided_by = [PodSpecFollowsContract(Contract.BOT_TOKEN_PATH).label]
    verdict = scenario.judge(evidence)
    assert list(verdict.failed) == evidence.decided_by
    rotations = Rotations(at_least=3).label
    assert rotations in verdict.not_judged
    assert "every message exactly once" not in verdict.not_judged  # judged by what had happened: nothing bad
    assert f"not judged: {rotations}" in verdict.describe()
    evidence.decided_by = []  # the same evidence judged as a complete run fails for the consequences too
    assert rotations in scenario.judge(evidence).failed


def test_too_few_newer_reconnects_name_the_side_that_fell_short() -> None:
    """n reconnects with ever newer tokens need n rotations: the problem says whose they were."""
    expectation = NewTokenOnReconnect(at_least=2)
    few = _evidence([_hs(101, "aaaa", 1), _hs(101, "bbbb", 5)], fps=["aaaa", "bbbb"])
    assert "the operator did not rotate enough" in " ".join(expectation.problems(few))
    stale = _evidence([_hs(101, "aaaa", 1), _hs(101, "aaaa", 5)], fps=["aaaa", "bbbb", "cccc"])
    assert "the runner did not present the new tokens" in " ".join(expectation.problems(stale))
    enough = _evidence(
        [_hs(101, "aaaa", 1), _hs(101, "bbbb", 5), _hs(101, "cccc", 9)], fps=["aaaa", "bbbb", "cccc"]
    )
    assert expectation.problems(enough) == []


def test_a_handshake_without_a_token_decides_at_once_and_one_with_a_token_never_does() -> None:
    expectation = NoTokenlessHandshake()
    assert expectation.violated(_evidence([_hs(101, "aaaa", 1), _hs(401, "aaaa", 9)]), T0 + 10) == []
    bare = _evidence([_hs(101, "aaaa", 1), _hs(401, None, 12)])
    assert expectation.violated(bare, T0 + 13)
    assert expectation.problems(bare)


def _faulted(records: Sequence[Record], fps: Sequence[str], at: float) -> Evidence:
    evidence = _evidence(records, fps=fps)
    evidence.faults = [FaultRecord(T0 + at, "recreate the ServiceAccount (revokes old tokens)")]
    return evidence


def test_recovery_counts_only_tokens_issued_after_the_fault_and_is_decided_once_the_bound_passed() -> None:
    bound = RecoversWithin(18)
    # Rotation i happens at T0 + i: "aaaa" before the fault at 5 s, "ffff" (index 6) after it.
    fps = ["aaaa", "b", "c", "d", "e", "f", "ffff"]
    cached = [_hs(101, "aaaa", 1, iat=int(T0)), _hs(101, "aaaa", 6, iat=int(T0))]  # the cache still says yes
    assert bound.violated(_faulted(cached, fps, 5), T0 + 20) == []  # inside the bound: not yet decided
    late = _faulted(cached, fps, 5)
    assert bound.violated(late, T0 + 26)  # 21 s after the fault, only the old token ever accepted
    assert bound.problems(late)
    recovered = _faulted([*cached, _hs(101, "ffff", 16, iat=int(T0) + 6)], fps, 5)
    assert bound.violated(recovered, T0 + 40) == []
    assert bound.problems(recovered) == []
    slow = _faulted([*cached, _hs(101, "ffff", 30, iat=int(T0) + 6)], fps, 5)
    assert bound.violated(slow, T0 + 40) and bound.problems(slow)


def test_rotations_after_the_fault_ignore_tokens_the_secret_held_before_it() -> None:
    after = RotationsAfterFault(at_least=2)
    assert RotationsAfterFault(at_least=1).problems(_faulted([], ["aaaa", "bbbb"], 0.5)) == []
    # A value the Secret held before the fault and takes again after it is no new token.
    assert after.problems(_faulted([], ["aaaa", "bbbb", "aaaa"], 0.5))
    assert after.problems(_faulted([], ["aaaa", "bbbb", "cccc"], 0.5)) == []
    frozen = after.problems(_faulted([], ["aaaa", "bbbb"], 1.5))
    assert frozen and "saw 0" in frozen[0]
    assert after.problems(_evidence(fps=["aaaa", "bbbb", "cccc"]))  # no fault applied: nothing to judge


def test_a_token_for_another_audience_decides_at_once() -> None:
    expectation = TokensCarryAudience("longhaul-backend")
    good = _evidence([_hs(101, "aaaa", 1, aud="longhaul-backend,other")])
    assert expectation.violated(good, T0 + 2) == [] and expectation.problems(good) == []
    wrong = _evidence([*good.ledger.handshakes, _hs(401, "bbbb", 4, aud="https://kubernetes.default.svc")])
    found = expectation.violated(wrong, T0 + 5)
    assert found and "https://kubernetes.default.svc" in found[0]
    assert expectation.problems(_evidence())  # nothing presented: nothing proves the audience


def test_an_accepted_handshake_decides_every_handshake_rejected() -> None:
    expectation = EveryHandshakeRejected(401)
    rejected = _evidence([_hs(401, "aaaa", 1), _hs(401, "aaaa", 3)])
    assert expectation.violated(rejected, T0 + 4) == [] and expectation.problems(rejected) == []
    assert expectation.violated(_evidence([*rejected.ledger.handshakes, _hs(101, "aaaa", 5)]), T0 + 6)
    assert expectation.problems(_evidence())  # no handshake at all is not "every one rejected"


def test_an_early_decision_the_final_evidence_refutes_fails_nothing() -> None:
    """Decided on a stale status ("still running"), the exit's report arriving by the end: it held."""
    legacy = next(s for s in FAST_TIER if s.name == "legacy-env-fallback")
    gives_up = next(e for e in legacy.expect if isinstance(e, GivesUpWithin))
    offline = [
        _hs(101, "aaaa", 1),
        Closed("c", SESSION, 4000, "token aged out", t=T0 + 11),
        _hs(401, "aaaa", 12),
    ]
    evidence = _evidence(offline, runs=[_run(75, finished=21)], fps=["aaaa"])
    evidence.ended, evidence.decided_at = T0 + 60, T0 + 60
    evidence.decided_by = [gives_up.label]
    assert gives_up.label not in legacy.judge(evidence).failed
    evidence.runs = [_run(75, finished=40)]  # and one the final evidence upholds
    assert "29s after going offline" in legacy.judge(evidence).failed[gives_up.label][0]
