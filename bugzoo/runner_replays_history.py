"""Runner replays every event since start-up on each reconnect, duplicating delivered ones.

The regression: a "replay log" keeps every event produced, and a new
connection resends it from the start instead of from the first
unacknowledged event.  Nothing is lost, but after each token rotation the
backend receives every earlier event again.
"""

from __future__ import annotations

import sys

from bugzoo._override import Override, apply_all
from longhaul.wire import Event
from runner_stub import __main__ as runner
from runner_stub import session
from runner_stub.outbox import Outbox

KILLED_BY = ("long-session-survives-rotations",)


class ReplayingOutbox(Outbox):
    """Acks still count for "all delivered", but resending starts from the first event ever made."""

    def __init__(self) -> None:
        super().__init__()
        self._history: list[Event] = []

    def add(self, body: str) -> Event:
        event = super().add(body)
        self._history.append(event)
        return event

    def pending(self) -> list[Event]:
        return list(self._history)


def replaying(_outbox: type[Outbox]) -> type[Outbox]:
    return ReplayingOutbox


OVERRIDES = (Override(session, "Outbox", replaying),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(runner.main())
