"""Runner logs a rejected handshake as a generic connect failure, without its status.

The regression: the handshake-rejection clause was folded into the generic
network-error one ("a failed connect is a failed connect").  The runner
still retries and still gives up, but a 401 from the backend is logged as
``connect_failed`` with the exception's text: no status field, no reason,
nothing a person or an alert can tell from a refused TCP connection.
"""

from __future__ import annotations

import sys

from bugzoo._override import Override, apply_all
from runner_stub import __main__ as runner
from runner_stub import session

KILLED_BY = ("wrong-audience-fails-loudly",)


class NeverRaised(Exception):
    """What the rejection clause now catches: nothing, so rejections reach the generic clause."""


def folded(_current: object) -> type[Exception]:
    return NeverRaised


OVERRIDES = (Override(session, "InvalidStatus", folded),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(runner.main())
