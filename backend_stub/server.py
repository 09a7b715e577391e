"""BackendServer: the session WebSocket endpoint, with a ledger of everything it saw.

Behaves like the real backend where the runner can tell: the same path, token
sources and status codes, a ping every 30 s.  Beyond that it records evidence
(:class:`longhaul.ledger.SessionLedger`) and offers the faults a scenario
needs, each off by default:

* ``max_connection_age``: close every connection after N seconds (code 4000),
  as a load balancer does; this is what makes a runner reconnect, and so
  re-present its token, during a test;
* ``close_on_token_expiry``: close a connection when its token's ``exp``
  passes (code 4001), for a backend that re-validates;
* ``POST /debug/drop?session=S[&abort=1]``: close (1012) or abort (no close
  frame, like a dead node) live connections now.

``GET /healthz`` answers ``ok``; ``GET /debug/ledger`` returns the ledger as
JSON lines, for a backend running in a pod whose file the harness cannot read.
With a debug secret (``--debug-secret-file``) every ``/debug/*`` request must
carry it in ``X-Longhaul-Debug`` or gets 403: a backend reachable from pods
(or a whole cluster) must not let anyone drop sessions or read the ledger.

Paths in ``health_paths`` (a runner pod's own checks, declared by its
profile) answer ``ok`` and are recorded as health checks, not as contacts.

With ``protocol="opaque"`` (a runner speaking its own protocol) the backend
parses nothing after the handshake: it records each message's size and type
(:class:`~longhaul.ledger.Frame`) and sends nothing back but pings.

Below the session handshakes, every TCP accept and every request (any path,
with the status it got) goes into the ledger too, so a runner that dials a
wrong path or fails before HTTP still leaves a trace.
"""

from __future__ import annotations

import asyncio
import hmac
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from backend_stub.auth import INVALID, Authenticator, AuthResult, extract_token
from longhaul.ledger import (
    Acked,
    Closed,
    Delivery,
    Finished,
    Frame,
    Handshake,
    SessionLedger,
    TcpAccept,
    to_json,
)
from longhaul.ledger import Request as RequestRecord
from longhaul.logfmt import log_event
from longhaul.tokens import fingerprint
from longhaul.wire import Ack, Bye, Done, Event, Hello, ProtocolError, decode, encode

SESSION_PATH = re.compile(
    r"^/api/projects/(?P<namespace>[a-z0-9][-a-z0-9]*)/sessions/(?P<session>[a-z0-9][-a-z0-9.]*)/ws$"
)
CLOSE_MAX_AGE = 4000
CLOSE_TOKEN_EXPIRED = 4001
CLOSE_DROPPED = 1012  # "service restart"
DEBUG_HEADER = "X-Longhaul-Debug"


@dataclass(frozen=True)
class BackendPolicy:
    max_connection_age: float | None = None
    close_on_token_expiry: bool = False
    # Reject (401) a token whose ``iat`` is older than this, and treat iat + max age as its
    # expiry for ``close_on_token_expiry``: scenarios compress a real 600 s TokenRequest
    # lifetime into seconds while the API server still judges the token itself.
    max_token_age: float | None = None
    ping_interval: float = 30.0
    # How long to wait for a peer to finish closing, including one that keeps a
    # rejected (401/403/404) connection open.  It also bounds how long SIGTERM
    # takes: websockets' default (10 s) would use up a pod's grace period.
    close_timeout: float = 2.0
    protocol: str = "longhaul-wire"  # or "opaque": record frames, parse none
    health_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class Admission:
    """What the handshake established about a connection, handed to its handler."""

    conn: str
    namespace: str
    session: str
    token_fp: str
    iat: int | None
    exp: int | None
    aud: str | None = None


def _int_claim(claims: Any, name: str) -> int | None:
    value = claims.get(name)
    return value if isinstance(value, int) else None


def _aud_claim(claims: Any) -> str | None:
    """The ``aud`` claim (a string or a list of them), comma-joined for the ledger."""
    value = claims.get("aud")
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(a, str) for a in value):
        return ",".join(value)
    return None


class BackendServer:
    def __init__(
        self,
        authenticator: Authenticator,
        ledger: SessionLedger,
        policy: BackendPolicy,
        debug_secret: str | None = None,
    ) -> None:
        self.authenticator = authenticator
        self._debug_secret = debug_secret  # None: /debug/* is open (a loopback-only test backend)
        self.ledger = ledger
        self.policy = policy
        self._admitted: dict[str, Admission] = {}
        self._live: dict[str, tuple[str, ServerConnection]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def serve(self, host: str, port: int) -> Any:
        """An async context manager yielding the listening websockets Server."""
        return serve(
            self._handle,
            host,
            port,
            process_request=self._process_request,
            process_response=self._process_response,
            create_connection=self._connection_class(),
            ping_interval=self.policy.ping_interval or None,
            close_timeout=self.policy.close_timeout,
            server_header=None,
        )

    def _connection_class(self) -> type[ServerConnection]:
        """A ServerConnection that records its TCP accept, and its end if no HTTP request came."""
        backend = self

        class RecordingConnection(ServerConnection):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                super().connection_made(transport)
                peer = transport.get_extra_info("peername")
                where = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else str(peer)
                backend.ledger.record(TcpAccept(conn=str(self.id)[:8], peer=where))

            def connection_lost(self, exc: Exception | None) -> None:
                if self.request is None:  # nothing HTTP arrived: TLS to the plain port, or silence
                    why = self.protocol.handshake_exc
                    reason = f"no HTTP request ({type(why).__name__})" if why else "closed before a request"
                    backend.ledger.record(
                        RequestRecord(conn=str(self.id)[:8], method="", path="", status=0, reason=reason)
                    )
                super().connection_lost(exc)

        return RecordingConnection

    def _process_response(self, connection: ServerConnection, request: Request, response: Response) -> None:
        """Record every answered request: its path (never the query: it may hold a token) and status."""
        path = urlsplit(request.path).path
        match = SESSION_PATH.match(path)
        self.ledger.record(
            RequestRecord(
                conn=str(connection.id)[:8],
                method=request.method,
                path=path,
                status=response.status_code,
                session=match["session"] if match else "",
                reason=response.reason_phrase,
                health=path in self.policy.health_paths,
            )
        )

    @staticmethod
    def bound_port(server: Server) -> int:
        return int(next(iter(server.sockets)).getsockname()[1])

    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        url = urlsplit(request.path)
        if url.path == "/healthz" or url.path in self.policy.health_paths:
            return connection.respond(200, "ok\n")
        if url.path.startswith("/debug/") and not self._debug_allowed(request.headers):
            return connection.respond(403, "Forbidden\n")
        if url.path == "/debug/ledger":
            return connection.respond(200, "".join(to_json(r) + "\n" for r in self.ledger.records))
        if url.path == "/debug/drop" and request.method == "POST":
            query = parse_qs(url.query)
            count = self.drop(query.get("session", [None])[0], abort=query.get("abort", ["0"])[0] == "1")
            return connection.respond(200, f"dropped {count}\n")
        match = SESSION_PATH.match(url.path)
        if match is None or request.method != "GET":
            return connection.respond(404, "Not found\n")
        namespace, session = match["namespace"], match["session"]
        conn = str(connection.id)[:8]
        token = self._token(request.headers, request.path)
        if token is None:
            result = AuthResult(401, "Authorization required")
        else:
            result = self._apply_max_token_age(await self.authenticator.authenticate(token, namespace))
        fp = fingerprint(token) if token else None
        if not result.allowed:
            self.ledger.record(
                Handshake(
                    conn=conn,
                    namespace=namespace,
                    session=session,
                    status=result.status,
                    reason=result.reason,
                    token_fp=fp,
                    iat=_int_claim(result.claims, "iat"),
                    exp=_int_claim(result.claims, "exp"),
                    aud=_aud_claim(result.claims),
                )
            )
            log_event(
                "rejected",
                conn=conn,
                session=session,
                status=result.status,
                reason=result.reason,
                token_fp=fp,
            )
            return connection.respond(result.status, result.reason + "\n")
        self._admitted[str(connection.id)] = Admission(
            conn=conn,
            namespace=namespace,
            session=session,
            token_fp=fp or "",
            iat=_int_claim(result.claims, "iat"),
            exp=_int_claim(result.claims, "exp"),
            aud=_aud_claim(result.claims),
        )
        return None

    def _debug_allowed(self, headers: Headers) -> bool:
        """The debug secret, compared in constant time; a missing or repeated header is refused."""
        if self._debug_secret is None:
            return True
        try:
            given = headers.get(DEBUG_HEADER)
        except LookupError:  # repeated header
            return False
        return given is not None and hmac.compare_digest(given.encode(), self._debug_secret.encode())

    def _apply_max_token_age(self, result: AuthResult) -> AuthResult:
        limit = self.policy.max_token_age
        if limit is None or not result.allowed:
            return result
        iat = _int_claim(result.claims, "iat")
        if iat is None:
            return AuthResult(401, f"{INVALID} (no iat claim; max token age is enforced)", result.claims)
        age = time.time() - iat
        if age > limit:
            return AuthResult(401, f"{INVALID} (token age {age:.0f}s > max {limit:g}s)", result.claims)
        return result

    def _deadline(self, adm: Admission) -> float | None:
        """When this connection's token stops being acceptable: its exp, or iat + max token age."""
        ends = [float(adm.exp)] if adm.exp is not None else []
        if self.policy.max_token_age is not None and adm.iat is not None:
            ends.append(adm.iat + self.policy.max_token_age)
        return min(ends) if ends else None

    @staticmethod
    def _token(headers: Headers, path: str) -> str | None:
        try:
            return extract_token(headers, path)
        except LookupError:  # repeated header: MultipleValuesError
            return None

    def drop(self, session: str | None, *, abort: bool = False) -> int:
        victims = [ws for s, ws in self._live.values() if session in (None, s)]
        for ws in victims:
            if abort:
                ws.transport.abort()
            else:
                self._close_later(ws, CLOSE_DROPPED, "dropped by test")
        return len(victims)

    def _close_later(self, ws: ServerConnection, code: int, reason: str) -> None:
        task = asyncio.get_running_loop().create_task(ws.close(code, reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, ws: ServerConnection) -> None:
        adm = self._admitted.pop(str(ws.id))
        self.ledger.record(
            Handshake(
                conn=adm.conn,
                namespace=adm.namespace,
                session=adm.session,
                status=101,
                reason="accepted",
                token_fp=adm.token_fp,
                iat=adm.iat,
                exp=adm.exp,
                aud=adm.aud,
            )
        )
        log_event("accepted", conn=adm.conn, session=adm.session, token_fp=adm.token_fp, exp=adm.exp)
        self._live[adm.conn] = (adm.session, ws)
        loop = asyncio.get_running_loop()
        timers: list[asyncio.TimerHandle] = []
        if self.policy.max_connection_age:
            timers.append(
                loop.call_later(
                    self.policy.max_connection_age, self._close_later, ws, CLOSE_MAX_AGE, "max connection age"
                )
            )
        deadline = self._deadline(adm)
        if self.policy.close_on_token_expiry and deadline is not None:
            timers.append(
                loop.call_later(
                    max(0.0, deadline - time.time()),
                    self._close_later,
                    ws,
                    CLOSE_TOKEN_EXPIRED,
                    "token expired",
                )
            )
        try:
            await self._converse(ws, adm)
        except ConnectionClosed:
            pass
        finally:
            for timer in timers:
                timer.cancel()
            self._live.pop(adm.conn, None)
            code = ws.close_code if ws.close_code is not None else 1006
            self.ledger.record(
                Closed(conn=adm.conn, session=adm.session, code=code, reason=ws.close_reason or "")
            )
            log_event("closed", conn=adm.conn, session=adm.session, code=code, reason=ws.close_reason or None)

    async def _converse(self, ws: ServerConnection, adm: Admission) -> None:
        if self.policy.protocol == "opaque":
            async for frame in ws:
                size = len(frame)
                binary = isinstance(frame, bytes)
                self.ledger.record(Frame(conn=adm.conn, session=adm.session, size=size, binary=binary))
            return
        runner_id: str | None = None
        async for frame in ws:
            try:
                message = decode(frame)
            except ProtocolError as exc:
                await ws.close(1008, str(exc)[:100])
                return
            if isinstance(message, Hello):
                runner_id = message.runner_id
            elif runner_id is None:
                await ws.close(1008, "hello first")
                return
            elif isinstance(message, Event):
                duplicate = self.ledger.is_recorded(adm.session, runner_id, message.seq)
                self.ledger.record(
                    Delivery(
                        conn=adm.conn,
                        session=adm.session,
                        runner_id=runner_id,
                        seq=message.seq,
                        token_fp=adm.token_fp,
                        duplicate=duplicate,
                    )
                )
                await ws.send(encode(Ack(seq=message.seq)))  # raises if the connection is gone
                self.ledger.record(
                    Acked(conn=adm.conn, session=adm.session, runner_id=runner_id, seq=message.seq)
                )
            elif isinstance(message, Done):
                self.ledger.record(
                    Finished(
                        conn=adm.conn, session=adm.session, runner_id=runner_id, last_seq=message.last_seq
                    )
                )
                log_event(
                    "finished",
                    conn=adm.conn,
                    session=adm.session,
                    runner_id=runner_id,
                    last_seq=message.last_seq,
                )
                await ws.send(encode(Bye(last_seq=message.last_seq)))
