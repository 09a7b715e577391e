"""One greppable line per operator action: ``operator event=refreshed session=ns/name fp=1a2b3c4d ...``.

Harnesses parse these lines, so values are ``key=value`` with JSON quoting only
when a value contains spaces or quotes.  Tokens the operator minted are
registered with :meth:`EventLog.forbid` and redacted to their fingerprint
should one ever reach a message (an API error echoing a request, say).
"""

from __future__ import annotations

import enum
import json
import sys
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TextIO

from longhaul.tokens import redact

_REMEMBERED_TOKENS = 256


def _utc_now() -> datetime:
    return datetime.now(UTC)


class EventLog:
    def __init__(self, stream: TextIO | None = None, clock: Callable[[], datetime] = _utc_now) -> None:
        self._stream = stream
        self._clock = clock
        self._forbidden: deque[str] = deque(maxlen=_REMEMBERED_TOKENS)

    def forbid(self, token: str) -> None:
        """Remember a token value so no later line can carry it."""
        self._forbidden.append(token)

    def emit(self, event: str, session: str | None = None, **fields: object) -> None:
        parts = [f"event={event}"]
        if session is not None:
            parts.append(f"session={session}")
        parts += [f"{key}={_format(value)}" for key, value in fields.items() if value is not None]
        parts.append(f"ts={self._clock().strftime('%Y-%m-%dT%H:%M:%S.%fZ')}")
        line = "operator " + " ".join(parts)
        if self._forbidden:
            line = redact(line, list(self._forbidden))
        stream = self._stream or sys.stderr
        print(line, file=stream, flush=True)


def _format(value: object) -> str:
    text = str(value.value) if isinstance(value, enum.Enum) else str(value)
    if text == "" or any(ch.isspace() or ch in "\"'=" for ch in text):
        return json.dumps(text)
    return text
