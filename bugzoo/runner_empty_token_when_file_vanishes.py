"""Runner connects with an empty token when its token file vanishes mid-session.

The regression: the start-up check is kept (a missing file still exits 66
at once), but the per-connect read became lenient -- "the file may be
mid-update, send what we have" -- so a file that is gone on reconnect
yields ``""`` and the runner keeps knocking with ``Authorization: Bearer``
and nothing after it.  The backend's 401s then blame the token instead of
the missing key, and the pod never fails.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from bugzoo._override import Override, apply_all
from runner_stub import __main__ as runner
from runner_stub.token_source import RunnerConfigError, TokenSource

KILLED_BY = ("token-key-removed-mid-session",)


class LenientOnReconnect:
    """The reference source, except that an unusable file reads as an empty token."""

    def __init__(self, source: TokenSource) -> None:
        self.kind, self.where = source.kind, source.where
        self._source = source

    def read(self) -> str:
        try:
            return self._source.read()
        except RunnerConfigError:
            return ""


def lenient_reads(resolve: Callable[..., TokenSource]) -> Callable[..., TokenSource]:
    def resolve_then_lenient(*args: Any, **kwargs: Any) -> TokenSource:
        return LenientOnReconnect(resolve(*args, **kwargs))  # resolve still fails fast at start-up

    return resolve_then_lenient


OVERRIDES = (Override(runner, "resolve_token_source", lenient_reads),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(runner.main())
