"""Runner reads its token once at start-up and reuses it on every reconnect.

The regression: someone "optimises" token handling by reading the file when
the runner starts and keeping the value.  The first connection works; after
the operator rotates the Secret and the backend drops the connection, every
reconnect presents the start-up token, which the backend now rejects.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from bugzoo._override import Override, apply_all
from runner_stub import __main__ as runner
from runner_stub.token_source import TokenSource

KILLED_BY = ("long-session-survives-rotations",)


class StartupToken:
    """The token as it was at start-up, handed out on every connect."""

    def __init__(self, source: TokenSource) -> None:
        self.kind, self.where = source.kind, source.where
        self._token = source.read()

    def read(self) -> str:
        return self._token


def read_once(resolve: Callable[..., TokenSource]) -> Callable[..., TokenSource]:
    def resolve_and_keep(*args: Any, **kwargs: Any) -> TokenSource:
        return StartupToken(resolve(*args, **kwargs))

    return resolve_and_keep


OVERRIDES = (Override(runner, "resolve_token_source", read_once),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(runner.main())
