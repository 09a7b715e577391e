"""Outbox: events the runner produced and the backend has not yet acknowledged.

Why: a connection can die between send and ack (token expiry, backend
restart, dropped TCP).  Keeping every unacked event and resending it on the
next connection gives at-least-once transport; the backend's ledger turns that
into exactly-once.  Sequence numbers start at 1 with no gaps, so a missing
event in the ledger is visible as a gap.
"""

from __future__ import annotations

from longhaul.wire import Event


class Outbox:
    def __init__(self) -> None:
        self._pending: dict[int, Event] = {}
        self._last_seq = 0

    @property
    def last_seq(self) -> int:
        """Highest sequence number produced so far (0 before the first event)."""
        return self._last_seq

    def add(self, body: str) -> Event:
        self._last_seq += 1
        event = Event(seq=self._last_seq, body=body)
        self._pending[event.seq] = event
        return event

    def ack(self, seq: int) -> bool:
        """Forget event ``seq``; False if it was not pending (a repeated or stray ack)."""
        return self._pending.pop(seq, None) is not None

    def pending(self) -> list[Event]:
        """Unacknowledged events, oldest first: the order to (re)send them in."""
        return [self._pending[seq] for seq in sorted(self._pending)]

    def __len__(self) -> int:
        return len(self._pending)
