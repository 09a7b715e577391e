"""Runner drops the events it queued while disconnected instead of sending them on reconnect.

The regression: the send queue belongs to the connection, so a reconnect
starts with an empty one.  Events produced while the runner was offline
(backing off, waiting for a refreshed token, the backend restarting) and
any not yet acknowledged are silently lost: the session "survives" the
rotation with holes in its history.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import Any

from bugzoo._override import Override, apply_all
from runner_stub import __main__ as runner
from runner_stub.session import ConnectionEnded, RunnerSession

KILLED_BY = ("backend-restarted-mid-session", "long-session-survives-rotations")

Converse = Callable[[RunnerSession, Any], Awaitable[ConnectionEnded]]


def fresh_queue_per_connection(converse: Converse) -> Converse:
    async def converse_from_now(self: RunnerSession, ws: Any) -> ConnectionEnded:
        if getattr(self, "_bugzoo_connected_before", False):
            for event in self.outbox.pending():
                self.outbox.ack(event.seq)  # forgotten, as if delivered
        self._bugzoo_connected_before = True  # type: ignore[attr-defined]
        return await converse(self, ws)

    return converse_from_now


OVERRIDES = (Override(RunnerSession, "_converse", fresh_queue_per_connection),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(runner.main())
