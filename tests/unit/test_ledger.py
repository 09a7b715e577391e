"""SessionLedger: records persist, survive a torn write and a restart, and answer exactly-once questions."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from longhaul.ledger import (
    Closed,
    Delivery,
    Finished,
    Handshake,
    Record,
    Request,
    SessionLedger,
    TcpAccept,
    from_json,
    to_json,
)

records: st.SearchStrategy[Record] = st.one_of(
    st.builds(
        Handshake,
        status=st.sampled_from([101, 401, 403]),
        token_fp=st.none() | st.text(max_size=8),
        iat=st.none() | st.integers(),
        exp=st.none() | st.integers(),
        t=st.floats(0, 2e9),
    ),
    st.builds(
        Delivery, seq=st.integers(1, 10**6), token_fp=st.none() | st.text(max_size=8), t=st.floats(0, 2e9)
    ),
    st.builds(Closed, code=st.integers(1000, 4999), t=st.floats(0, 2e9)),
    st.builds(Finished, last_seq=st.integers(0, 10**6), t=st.floats(0, 2e9)),
    st.builds(TcpAccept, t=st.floats(0, 2e9)),
    st.builds(Request, status=st.sampled_from([0, 101, 200, 401, 404]), t=st.floats(0, 2e9)),
)


@given(records)
def test_records_round_trip_through_json(record: Record) -> None:
    assert from_json(to_json(record)) == record


def _delivery(runner: str, seq: int, duplicate: bool = False) -> Delivery:
    return Delivery(conn="c", session="s", runner_id=runner, seq=seq, token_fp="fp", duplicate=duplicate)


def test_reopened_ledger_remembers_deliveries_and_skips_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    first = SessionLedger(path)
    first.record(_delivery("r1", 1))
    first.record(_delivery("r1", 2))
    first.close()
    with open(path, "a") as out:
        out.write('{"kind": "delivery", "conn": "c", "sess')  # writer killed mid-line
    second = SessionLedger(path)
    assert second.is_recorded("s", "r1", 2)
    assert not second.is_recorded("s", "r1", 3)
    assert not second.is_recorded("s", "r2", 1)
    second.close()
    assert SessionLedger.load(path).evidence("s").delivered("r1") == [1, 2]


@given(st.lists(st.integers(1, 30), max_size=60), st.integers(0, 30))
def test_exactly_once_means_each_of_1_to_n_recorded_once(arrivals: list[int], last: int) -> None:
    ledger = SessionLedger()
    for seq in arrivals:
        ledger.record(_delivery("r1", seq, duplicate=ledger.is_recorded("s", "r1", seq)))
    ev = ledger.evidence("s")
    assert ev.exactly_once("r1", last) == (set(arrivals) == set(range(1, last + 1)))
    assert ev.missing("r1", last) == sorted(set(range(1, last + 1)) - set(arrivals))
    assert ev.duplicates("r1") == len(arrivals) - len(set(arrivals))


def test_evidence_separates_sessions_and_orders_fingerprints_by_first_use() -> None:
    ledger = SessionLedger()
    for session, status, fp in [
        ("s", 101, "a"),
        ("s", 401, "b"),
        ("s", 101, "c"),
        ("s", 101, "a"),
        ("t", 101, "z"),
    ]:
        ledger.record(
            Handshake(conn="c", namespace="n", session=session, status=status, reason="", token_fp=fp)
        )
    ev = ledger.evidence("s")
    assert ev.accepted_fingerprints() == ["a", "c"]
    assert [h.token_fp for h in ev.rejected] == ["b"]
    assert ledger.sessions() == ["s", "t"]


def test_an_older_ledger_without_accepts_or_requests_still_reads(tmp_path: Path) -> None:
    """A ledger written before TCP accepts and requests were recorded: same evidence, none of those."""
    path = tmp_path / "ledger.jsonl"
    path.write_text(
        '{"kind":"handshake","conn":"c","namespace":"ns","session":"s","status":101,"reason":"accepted",'
        '"token_fp":"abcd1234","iat":1,"exp":2,"t":5.0}\n'
        '{"kind":"some_future_record","conn":"c","session":"s","t":6.0}\n'
    )
    ev = SessionLedger.load(path).evidence("s")
    assert [h.status for h in ev.handshakes] == [101]
    assert ev.requests == () and ev.tcp_accepts == ()
    assert ev.contacted  # a handshake alone is contact


def test_requests_and_accepts_reach_a_sessions_evidence_unless_they_name_another_session() -> None:
    ledger = SessionLedger()
    ledger.record(TcpAccept("c1", "10.0.0.1:5"))
    ledger.record(Request("c1", "GET", "/nope", 404))
    ledger.record(Request("c2", "GET", "/api/projects/ns/sessions/s/ws", 401, session="s"))
    ledger.record(Request("c3", "GET", "/api/projects/ns/sessions/other/ws", 401, session="other"))
    ev = ledger.evidence("s")
    assert [r.conn for r in ev.requests] == ["c1", "c2"]
    assert [a.peer for a in ev.tcp_accepts] == ["10.0.0.1:5"]
    assert ev.contacts()[:2] == ["TCP accept from 10.0.0.1:5", "GET /nope -> 404"]
    assert ledger.sessions() == ["s", "other"]
    assert not SessionLedger().evidence("s").contacted
