"""Backend validates a token only at the handshake: a connection outlives the token it opened with.

The regression: the timer that closes a connection when its token expires is
dropped ("the runner reconnects on its own anyway").  Revoked and expired
tokens keep their sessions for as long as the TCP connection lives, and the
runner's rotation path -- re-reading the file, presenting the new token --
is never exercised: the suite would pass without testing what it exists for.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable
from typing import Any

from backend_stub import __main__ as backend
from backend_stub.server import BackendPolicy
from bugzoo._override import Override, apply_all

KILLED_BY = ("long-session-survives-rotations",)


def handshake_only(policy: type[BackendPolicy]) -> Callable[..., BackendPolicy]:
    def build(**settings: Any) -> BackendPolicy:
        return dataclasses.replace(policy(**settings), close_on_token_expiry=False)

    return build


OVERRIDES = (Override(backend, "BackendPolicy", handshake_only),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(backend.main())
