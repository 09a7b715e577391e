"""Messages between runner and backend: one JSON object per WebSocket text frame.

Why a protocol at all: the proof that a session survived token rotation is
that every piece of work the runner produced reached the backend exactly once,
over however many connections and tokens it took.  So each event carries a
sequence number (per runner incarnation), the backend acks each one, the runner
resends whatever is unacked after a reconnect, and the backend's ledger drops
duplicates.  Stdlib only, so the runner image needs nothing else for it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any, Final


@dataclass(frozen=True)
class Hello:
    """First frame on every connection: which runner incarnation is talking."""

    runner_id: str


@dataclass(frozen=True)
class Event:
    """One unit of work the runner reports; ``seq`` starts at 1 and has no gaps."""

    seq: int
    body: str


@dataclass(frozen=True)
class Done:
    """The runner has produced ``last_seq`` events and wants to end the session."""

    last_seq: int


@dataclass(frozen=True)
class Ack:
    """The backend has recorded event ``seq`` (possibly earlier, on another connection)."""

    seq: int


@dataclass(frozen=True)
class Bye:
    """The backend has recorded the end of the session; the runner may exit."""

    last_seq: int


Message = Hello | Event | Done | Ack | Bye

_TYPES: Final[dict[str, type[Message]]] = {
    "hello": Hello,
    "event": Event,
    "done": Done,
    "ack": Ack,
    "bye": Bye,
}
_NAMES: Final[dict[type[Message], str]] = {cls: name for name, cls in _TYPES.items()}


class ProtocolError(ValueError):
    """A frame is not a message of this protocol.  The text never echoes the frame."""


def encode(message: Message) -> str:
    return json.dumps({"type": _NAMES[type(message)], **asdict(message)}, separators=(",", ":"))


def decode(frame: str | bytes) -> Message:
    try:
        data: Any = json.loads(frame)
    except (ValueError, UnicodeDecodeError):
        raise ProtocolError("frame is not JSON") from None
    if not isinstance(data, dict):
        raise ProtocolError("frame is not a JSON object")
    cls = _TYPES.get(data.get("type"))  # type: ignore[arg-type]
    if cls is None:
        raise ProtocolError(f"unknown message type {str(data.get('type'))[:32]!r}")
    kwargs: dict[str, Any] = {}
    for f in fields(cls):
        value = data.get(f.name)
        wanted = int if f.type in (int, "int") else str
        if type(value) is not wanted:
            raise ProtocolError(f"{_NAMES[cls]}.{f.name} must be {wanted.__name__}")
        kwargs[f.name] = value
    return cls(**kwargs)
