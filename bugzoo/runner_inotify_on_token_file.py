"""Runner watches the token file itself with inotify and re-reads it only on a change event.

The regression: "don't read the file on every connect, watch it": an
inotify watch for ``IN_MODIFY | IN_CLOSE_WRITE`` on ``BOT_TOKEN_PATH``.  It
passes every test that rewrites the file in place, but kubelet never writes
a mounted file: it writes a new timestamped directory and swaps the
``..data`` symlink, and the watch (which followed the symlinks to the old
file) sees no modification -- the runner keeps its start-up token forever.
"""

from __future__ import annotations

import ctypes
import os
import struct
import sys
from collections.abc import Callable
from typing import Any

from bugzoo._override import Override, apply_all
from runner_stub import __main__ as runner
from runner_stub.token_source import TokenSource

KILLED_BY = ("long-session-survives-rotations",)
IN_MODIFY, IN_CLOSE_WRITE, IN_NONBLOCK = 0x2, 0x8, 0o4000
EVENT = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len (then the name)


class InotifyWatched:
    """The token read at start-up, re-read only when inotify reports the watched file changed."""

    def __init__(self, source: TokenSource) -> None:
        self.kind, self.where = source.kind, source.where
        self._source = source
        self._token = source.read()
        self._fd = -1
        if source.kind == "file":
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            self._fd = libc.inotify_init1(IN_NONBLOCK)
            if (
                self._fd < 0
                or libc.inotify_add_watch(self._fd, source.where.encode(), IN_MODIFY | IN_CLOSE_WRITE) < 0
            ):
                raise OSError(ctypes.get_errno(), "inotify")

    def _changed(self) -> bool:
        """Whether a modification was reported since the last look (other events, such as the
        watch going away with the deleted old version, are not a change to this watcher)."""
        changed = False
        while True:
            try:
                data = os.read(self._fd, 4096)
            except BlockingIOError:
                return changed
            offset = 0
            while offset + EVENT.size <= len(data):
                _wd, mask, _cookie, name_len = EVENT.unpack_from(data, offset)
                changed |= bool(mask & (IN_MODIFY | IN_CLOSE_WRITE))
                offset += EVENT.size + name_len

    def read(self) -> str:
        if self._fd < 0:
            return self._source.read()
        if self._changed():
            self._token = self._source.read()
        return self._token


def watch_file(resolve: Callable[..., TokenSource]) -> Callable[..., TokenSource]:
    def resolve_and_watch(*args: Any, **kwargs: Any) -> TokenSource:
        return InotifyWatched(resolve(*args, **kwargs))

    return resolve_and_watch


OVERRIDES = (Override(runner, "resolve_token_source", watch_file),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(runner.main())
