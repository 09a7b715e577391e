"""Outbox + dedup receiver = exactly-once, whatever the connection does.

The model: a runner adds events, sends what is pending over a connection that
may lose any frame or ack and may break at any point; after each break it
resends everything unacked.  The backend keeps the first copy of each seq.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from runner_stub.outbox import Outbox

# Each step: ("add",) produces an event; ("deliver", lose_frame, lose_ack) sends the
# oldest unsent pending event; ("break",) ends the connection.
steps = st.lists(
    st.one_of(
        st.just(("add", False, False)),
        st.tuples(st.just("deliver"), st.booleans(), st.booleans()),
        st.just(("break", False, False)),
    ),
    max_size=80,
)


@given(steps)
def test_resending_pending_after_each_break_delivers_everything_exactly_once(
    ops: list[tuple[str, bool, bool]],
) -> None:
    outbox = Outbox()
    received: list[int] = []
    sent_on_this_connection: set[int] = set()
    for op, lose_frame, lose_ack in ops:
        if op == "add":
            outbox.add("work")
        elif op == "break":
            sent_on_this_connection.clear()
        else:
            unsent = [e for e in outbox.pending() if e.seq not in sent_on_this_connection]
            if unsent:
                event = unsent[0]
                sent_on_this_connection.add(event.seq)
                if not lose_frame:
                    received.append(event.seq)
                    if not lose_ack:
                        outbox.ack(event.seq)
    # Drain over a perfect connection, as the runner does before Done.
    for _ in range(2):
        for event in outbox.pending():
            received.append(event.seq)
            outbox.ack(event.seq)
    assert len(outbox) == 0
    assert sorted(set(received)) == list(range(1, outbox.last_seq + 1))


@given(st.integers(1, 50), st.data())
def test_pending_is_exactly_the_unacked_in_seq_order(n: int, data: st.DataObject) -> None:
    outbox = Outbox()
    for _ in range(n):
        outbox.add("x")
    acked = data.draw(st.sets(st.integers(1, n)))
    for seq in acked:
        assert outbox.ack(seq)
        assert not outbox.ack(seq), "a repeated ack must not count twice"
    assert [e.seq for e in outbox.pending()] == sorted(set(range(1, n + 1)) - acked)
    assert outbox.last_seq == n


def test_stray_ack_is_ignored() -> None:
    outbox = Outbox()
    outbox.add("x")
    assert not outbox.ack(7)
    assert len(outbox) == 1
