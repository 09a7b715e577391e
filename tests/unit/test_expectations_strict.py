"""Expectations fail for exactly the defect their name states, and a legitimate run passes them.

Each test pairs a crafted piece of evidence that has the defect with the
closest legitimate one (an unacked resend, a ledger that exists but is empty).
"""

from __future__ import annotations

from longhaul.ledger import Acked, Delivery, Finished, Record, evidence_of
from longhaul.scenarios.evidence import Evidence
from longhaul.scenarios.expectations import ExactlyOnceDelivery, NoHandshakes

SESSION = "s-1"
T0 = 1_000_000.0


def _evidence(records: list[Record], requested: int | None = 3) -> Evidence:
    ev = Evidence("x", "ns", SESSION, started=T0, ended=T0 + 60)
    ev.ledger = evidence_of(SESSION, records)
    ev.requested_messages = requested
    return ev


def _delivered(seq: int, t: float, *, again: bool = False, acked: bool = True) -> list[Record]:
    out: list[Record] = [Delivery("c", SESSION, "r", seq, "aaaa", duplicate=again, t=T0 + t)]
    if acked:
        out.append(Acked("c", SESSION, "r", seq, t=T0 + t + 0.01))
    return out


def _finished(last: int, t: float = 50) -> Finished:
    return Finished("c", SESSION, "r", last, t=T0 + t)


def test_the_whole_requested_workload_exactly_once_passes() -> None:
    records = [*_delivered(1, 1), *_delivered(2, 2), *_delivered(3, 3), _finished(3)]
    assert ExactlyOnceDelivery().problems(_evidence(records)) == []


def test_a_runner_that_stops_early_and_declares_the_end_fails() -> None:
    records = [*_delivered(1, 1), *_delivered(2, 2), _finished(2)]
    found = ExactlyOnceDelivery().problems(_evidence(records, requested=3))
    assert any("the harness asked for 3" in p for p in found), found
    assert any("missing [3]" in p for p in found), found


def test_a_resend_of_an_event_whose_ack_never_went_out_is_the_protocol_working() -> None:
    # seq 2 arrived while the backend was closing: recorded, the ack failed, the runner resent it.
    records = [*_delivered(1, 1), *_delivered(2, 2, acked=False), *_delivered(2, 4, again=True)]
    records += [*_delivered(3, 5), _finished(3)]
    evidence = _evidence(records)
    assert ExactlyOnceDelivery().problems(evidence) == []
    assert evidence.ledger is not None and evidence.ledger.resends("r") == 1


def test_an_event_received_again_after_its_ack_went_out_is_a_duplicate() -> None:
    records = [*_delivered(1, 1), *_delivered(2, 2), *_delivered(2, 4, again=True), *_delivered(3, 5)]
    records.append(_finished(3))
    found = ExactlyOnceDelivery().problems(_evidence(records))
    assert found == ["runner r: 1 duplicate deliveries"], found
    assert ExactlyOnceDelivery().violated(_evidence(records), T0 + 6)  # decided as soon as it happens


def test_a_ledger_without_ack_records_is_judged_strictly() -> None:
    records: list[Record] = [
        Delivery("c", SESSION, "r", 1, "aaaa", duplicate=False, t=T0 + 1),
        Delivery("c", SESSION, "r", 1, "aaaa", duplicate=True, t=T0 + 2),
        _finished(1),
    ]
    assert ExactlyOnceDelivery().problems(_evidence(records, requested=1)) == [
        "runner r: 1 duplicate deliveries"
    ]


def test_no_handshakes_does_not_pass_on_a_missing_ledger() -> None:
    missing = Evidence("x", "ns", SESSION, started=T0, ended=T0 + 5)
    assert NoHandshakes().problems(missing) == ["no ledger was collected"]
    assert NoHandshakes().problems(_evidence([])) == []  # the ledger exists and saw nothing
