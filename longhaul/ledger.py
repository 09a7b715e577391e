"""SessionLedger: what the backend saw, as evidence a scenario can judge.

The backend appends one JSON line per TCP accept, HTTP request, handshake,
delivered event, close and session end.  Why a file and not only memory: the
harness reads it after the fact (and after a backend restart, which reloads it
so de-duplication spans restarts), and it goes into the artifact bundle as is.  It holds token
*fingerprints* and claims' iat/exp, never a token (and request paths without
their query string, which may carry ``?token=``).

Why TCP accepts and every request, not only session handshakes: a runner that
dials a wrong path (404), speaks TLS to a plain port or connects and says
nothing still reached the backend, and "nothing reached the backend" must not
pass for it.  Ledgers written before these records existed stay readable: they
simply hold none.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Final, TextIO


@dataclass(frozen=True)
class TcpAccept:
    """The backend accepted a TCP connection (before any byte was read); ``peer`` is ``host:port``."""

    conn: str
    peer: str
    session: str = ""  # never known at accept time; kept so every record has one
    t: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Request:
    """An HTTP request on an accepted connection, and the status it was answered with.

    ``path`` never includes the query string.  ``status`` 0 means the bytes
    received were no HTTP request (e.g. a TLS ClientHello on the plain port, or
    a peer that closed before sending one); ``reason`` says which.  ``session``
    is the session the path names ("" for any other path).  ``health``: a
    health path the implementation's profile declares (its pod's own checks),
    which is no contact of the runner's.
    """

    conn: str
    method: str
    path: str
    status: int
    session: str = ""
    reason: str = ""
    t: float = field(default_factory=time.time)
    health: bool = False


@dataclass(frozen=True)
class Handshake:
    """One WebSocket upgrade attempt; ``status`` 101 means accepted."""

    conn: str
    namespace: str
    session: str
    status: int
    reason: str
    token_fp: str | None = None
    iat: int | None = None
    exp: int | None = None
    t: float = field(default_factory=time.time)
    aud: str | None = None  # the token's audiences, comma-joined (a claim, never the token)

    @property
    def accepted(self) -> bool:
        return self.status == 101


@dataclass(frozen=True)
class Delivery:
    """An event reached the backend; ``duplicate`` if it had been recorded before."""

    conn: str
    session: str
    runner_id: str
    seq: int
    token_fp: str | None
    duplicate: bool
    t: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Acked:
    """The backend's ack of event ``seq`` went out on the connection (the send did not fail).

    Why it is recorded: a runner resends every event whose ack it did not get,
    which is the at-least-once protocol working, not a duplicate.  Only an
    event received again *after* its ack was sent is one.
    """

    conn: str
    session: str
    runner_id: str
    seq: int
    t: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Closed:
    """An accepted connection ended; ``code`` is the WebSocket close code (1006: dropped)."""

    conn: str
    session: str
    code: int
    reason: str
    t: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Finished:
    """The runner declared its last event and the backend acknowledged the end."""

    conn: str
    session: str
    runner_id: str
    last_seq: int
    t: float = field(default_factory=time.time)


@dataclass(frozen=True)
class Frame:
    """A message on an accepted connection of a runner whose protocol the backend does not parse
    (``--protocol opaque``): its size and type only, never its content (it may hold anything)."""

    conn: str
    session: str
    size: int
    binary: bool
    t: float = field(default_factory=time.time)


Record = TcpAccept | Request | Handshake | Delivery | Acked | Closed | Finished | Frame
_KINDS: Final[dict[str, type[Record]]] = {
    "tcp_accept": TcpAccept,
    "request": Request,
    "handshake": Handshake,
    "delivery": Delivery,
    "acked": Acked,
    "closed": Closed,
    "finished": Finished,
    "frame": Frame,
}
_NAMES: Final[dict[type[Record], str]] = {cls: name for name, cls in _KINDS.items()}


def to_json(record: Record) -> str:
    return json.dumps({"kind": _NAMES[type(record)], **asdict(record)}, separators=(",", ":"))


def from_json(line: str) -> Record | None:
    """Parse one ledger line; None for a torn or foreign line (a killed writer leaves one)."""
    try:
        data: Any = json.loads(line)
        cls = _KINDS[data.pop("kind")]
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


@dataclass(frozen=True)
class SessionEvidence:
    """Everything the ledger holds about one session, with the questions scenarios ask."""

    session: str
    handshakes: tuple[Handshake, ...]
    deliveries: tuple[Delivery, ...]
    closes: tuple[Closed, ...]
    finishes: tuple[Finished, ...]
    acks: tuple[Acked, ...] = ()
    # What reached the backend below a session handshake: every TCP accept (no session can be
    # told from it) and every request on this session's path or on a path naming no session.
    requests: tuple[Request, ...] = ()
    tcp_accepts: tuple[TcpAccept, ...] = ()
    frames: tuple[Frame, ...] = ()  # an opaque protocol's messages

    def _contacts(self) -> tuple[list[TcpAccept], list[Request]]:
        """TCP accepts and requests, leaving out declared health checks and the connections they came on."""
        health_conns = {r.conn for r in self.requests if r.health}
        other_conns = {r.conn for r in self.requests if not r.health} | {h.conn for h in self.handshakes}
        only_health = health_conns - other_conns
        return (
            [a for a in self.tcp_accepts if a.conn not in only_health],
            [r for r in self.requests if not r.health],
        )

    @property
    def contacted(self) -> bool:
        """Anything at all reached the backend: a TCP accept, a request (any path), a handshake.

        A declared health path (and the connection it alone came on) is not a contact.
        """
        accepts, requests = self._contacts()
        return bool(accepts or requests or self.handshakes)

    def contact_times(self) -> list[float]:
        """When anything reached the backend (as :attr:`contacted` counts it): a runner's signs of life."""
        accepts, requests = self._contacts()
        return [*(a.t for a in accepts), *(r.t for r in requests), *(h.t for h in self.handshakes)]

    def contacts(self) -> list[str]:
        """What reached the backend, one short token-free phrase each, for failure messages."""
        accepts, requests = self._contacts()
        return [
            *(f"TCP accept from {a.peer}" for a in accepts),
            *(f"{r.method or '-'} {r.path or '-'} -> {r.status or r.reason}" for r in requests),
            *(f"handshake {h.status} token {h.token_fp}" for h in self.handshakes),
        ]

    @property
    def accepted(self) -> tuple[Handshake, ...]:
        return tuple(h for h in self.handshakes if h.accepted)

    @property
    def rejected(self) -> tuple[Handshake, ...]:
        return tuple(h for h in self.handshakes if not h.accepted)

    def accepted_fingerprints(self) -> list[str]:
        """Distinct token fingerprints of accepted handshakes, in first-use order."""
        seen: dict[str, None] = {}
        for h in self.accepted:
            if h.token_fp:
                seen.setdefault(h.token_fp)
        return list(seen)

    def runner_ids(self) -> list[str]:
        return list(dict.fromkeys(d.runner_id for d in self.deliveries))

    def delivered(self, runner_id: str) -> list[int]:
        """Sequence numbers recorded (first arrivals only), in arrival order."""
        return [d.seq for d in self.deliveries if d.runner_id == runner_id and not d.duplicate]

    def duplicates(self, runner_id: str) -> int:
        """Events received again after their ack went out: what exactly-once forbids.

        A backend that records no acks at all (an older ledger) gets the strict
        reading: every repeated arrival counts.
        """
        repeats = [d for d in self.deliveries if d.runner_id == runner_id and d.duplicate]
        if not self.acks:
            return len(repeats)
        acked_at: dict[int, float] = {}
        for a in self.acks:
            if a.runner_id == runner_id:
                acked_at.setdefault(a.seq, a.t)
        return sum(1 for d in repeats if d.seq in acked_at and acked_at[d.seq] <= d.t)

    def resends(self, runner_id: str) -> int:
        """Repeated arrivals of events whose ack had not gone out: the protocol recovering."""
        repeats = sum(1 for d in self.deliveries if d.runner_id == runner_id and d.duplicate)
        return repeats - self.duplicates(runner_id)

    def missing(self, runner_id: str, last_seq: int) -> list[int]:
        return sorted(set(range(1, last_seq + 1)) - set(self.delivered(runner_id)))

    def exactly_once(self, runner_id: str, last_seq: int) -> bool:
        """Events 1..last_seq each recorded once, and nothing beyond."""
        got = self.delivered(runner_id)
        return sorted(got) == list(range(1, last_seq + 1))

    def describe(self) -> dict[str, object]:
        """A short, token-free summary for failure messages and reports."""
        return {
            "handshakes": [(h.status, h.token_fp, h.reason) for h in self.handshakes],
            "delivered": {r: len(self.delivered(r)) for r in self.runner_ids()},
            "duplicates": {r: self.duplicates(r) for r in self.runner_ids()},
            "resends": {r: self.resends(r) for r in self.runner_ids()},
            "closes": [(c.code, c.reason) for c in self.closes],
            "finished": [(f.runner_id, f.last_seq) for f in self.finishes],
            "tcp_accepts": len(self.tcp_accepts),
            "requests_not_upgraded": [(r.status, r.path, r.reason) for r in self.requests if r.status != 101],
        }


class SessionLedger:
    """Append-only record store, mirrored to a JSON-lines file when given a path."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._records: list[Record] = []
        self._seen: set[tuple[str, str, int]] = set()
        self._out: TextIO | None = None
        if path is not None:
            if path.exists():
                for line in path.read_text(errors="replace").splitlines():
                    record = from_json(line)
                    if record is not None:
                        self._remember(record)
            path.parent.mkdir(parents=True, exist_ok=True)
            self._out = open(path, "a", encoding="utf-8")  # noqa: SIM115 - lives as long as the ledger

    @classmethod
    def load(cls, path: Path) -> SessionLedger:
        """Read a ledger file without writing to it (the harness side)."""
        ledger = cls()
        if path.exists():
            for line in path.read_text(errors="replace").splitlines():
                record = from_json(line)
                if record is not None:
                    ledger._remember(record)
        return ledger

    def _remember(self, record: Record) -> None:
        self._records.append(record)
        if isinstance(record, Delivery):
            self._seen.add((record.session, record.runner_id, record.seq))

    def is_recorded(self, session: str, runner_id: str, seq: int) -> bool:
        return (session, runner_id, seq) in self._seen

    def record(self, record: Record) -> None:
        self._remember(record)
        if self._out is not None:
            self._out.write(to_json(record) + "\n")
            self._out.flush()

    def close(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    @property
    def records(self) -> tuple[Record, ...]:
        return tuple(self._records)

    def sessions(self) -> list[str]:
        return list(dict.fromkeys(r.session for r in self._records if r.session))

    def evidence(self, session: str) -> SessionEvidence:
        return evidence_of(session, self._records)


def evidence_of(session: str, records: Iterable[Record]) -> SessionEvidence:
    """The records about ``session``, plus those that cannot name one (TCP accepts, other paths):
    a backend serves one scenario, so what reached it unattributed still counts as contact."""
    records = list(records)
    mine = [r for r in records if r.session == session]
    return SessionEvidence(
        session=session,
        handshakes=tuple(r for r in mine if isinstance(r, Handshake)),
        deliveries=tuple(r for r in mine if isinstance(r, Delivery)),
        closes=tuple(r for r in mine if isinstance(r, Closed)),
        finishes=tuple(r for r in mine if isinstance(r, Finished)),
        acks=tuple(r for r in mine if isinstance(r, Acked)),
        requests=tuple(r for r in records if isinstance(r, Request) and r.session in (session, "")),
        tcp_accepts=tuple(r for r in records if isinstance(r, TcpAccept)),
        frames=tuple(r for r in mine if isinstance(r, Frame)),
    )
