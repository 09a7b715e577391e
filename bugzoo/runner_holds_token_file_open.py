"""Runner keeps the token file open and re-reads the same descriptor on reconnect.

The regression: "re-read the file on every connect" implemented as one
``open()`` at start-up and a ``pread`` from offset 0 per connect.  It passes a
test that rewrites the file in place, but kubelet updates a Secret volume by
writing a new timestamped directory and swapping the ``..data`` symlink: the
open descriptor keeps pointing at the old version, so every reconnect
presents the first token.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from bugzoo._override import Override, apply_all
from runner_stub import __main__ as runner
from runner_stub.token_source import TokenSource

KILLED_BY = ("long-session-survives-rotations",)
MAX_TOKEN_BYTES = 64 * 1024


class OpenedOnce:
    """A token file opened at start-up; each read goes to the same open file description."""

    def __init__(self, source: TokenSource) -> None:
        self.kind, self.where = source.kind, source.where
        self._source = source
        self._fd = os.open(source.where, os.O_RDONLY) if source.kind == "file" else None

    def read(self) -> str:
        if self._fd is None:
            return self._source.read()
        return os.pread(self._fd, MAX_TOKEN_BYTES, 0).decode("ascii").strip()


def open_once(resolve: Callable[..., TokenSource]) -> Callable[..., TokenSource]:
    def resolve_and_open(*args: Any, **kwargs: Any) -> TokenSource:
        return OpenedOnce(resolve(*args, **kwargs))

    return resolve_and_open


OVERRIDES = (Override(runner, "resolve_token_source", open_once),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(runner.main())
