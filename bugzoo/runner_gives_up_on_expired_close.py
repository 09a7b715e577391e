"""Runner gives up (exit 75) as soon as the backend closes its connection for an expired token.

The regression: "the backend says our token expired: reconnecting with it is
pointless", so the close code for an expired token ends the runner at once.
The token it would reconnect with is not the expired one -- the operator
refreshed the file meanwhile -- so every long session now ends at its first
rotation, with a tidy exit 75 and a ``gave_up`` line that look like a
legitimate give-up.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Coroutine
from typing import Any

from bugzoo._override import Override, apply_all
from longhaul.contract import RunnerExit
from longhaul.logfmt import log_event
from runner_stub import __main__ as runner
from runner_stub.session import ConnectionEnded, RunnerSession
from runner_stub.token_source import RunnerConfigError

KILLED_BY = ("legacy-env-fallback",)
TOKEN_EXPIRED_CLOSE = "closed 4001"
Converse = Callable[[RunnerSession, Any], Coroutine[Any, Any, ConnectionEnded]]


def final_on_expiry(converse: Converse) -> Converse:
    async def converse_until_expiry(self: RunnerSession, ws: Any) -> ConnectionEnded:
        ended = await converse(self, ws)
        if not ended.finished and ended.reason.startswith(TOKEN_EXPIRED_CLOSE):
            log_event("gave_up", last_error=ended.reason, offline_seconds="0.0")
            raise RunnerConfigError(RunnerExit.GAVE_UP, f"token expired ({ended.reason}); not reconnecting")
        return ended

    return converse_until_expiry


OVERRIDES = (Override(RunnerSession, "_converse", final_on_expiry),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(runner.main())
