"""Runner catches only the pre-14 websockets exception (InvalidStatusCode), so a 401 crashes it.

The regression: handshake-rejection handling written for websockets < 14,
where a refused upgrade raised ``InvalidStatusCode``.  Since 14 the asyncio
client raises ``InvalidStatus``, which the old ``except`` clauses never
match: the first 401 (a token the backend no longer accepts) escapes as a
traceback and the pod exits 1 instead of retrying with the refreshed token
or giving up with exit 75.  Both names the stub's handshake handling
catches are swapped for the old class: one behaviour, "what a rejected
handshake raises".
"""

from __future__ import annotations

import sys

from websockets.legacy.exceptions import InvalidStatusCode

from bugzoo._override import Override, apply_all
from runner_stub import __main__ as runner
from runner_stub import session

KILLED_BY = ("legacy-env-fallback", "refresh-stalled-fails-loudly")


def pre_14(_current: object) -> type[Exception]:
    return InvalidStatusCode


OVERRIDES = (
    Override(session, "InvalidStatus", pre_14),
    Override(session, "InvalidHandshake", pre_14),
)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(runner.main())
