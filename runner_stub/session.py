"""RunnerSession: produce events, keep a WebSocket to the backend, survive its loss.

The loop a real runner must get right, in order:

1. read the token *now* (never a cached copy) and log its fingerprint;
2. connect with ``Authorization: Bearer``; a 401/403 is just another failed
   attempt, because the refreshed token may not have reached the volume yet;
3. on a live connection say hello, resend every unacked event, then stream new
   ones, and finish with Done/Bye once all are acked;
4. on any loss, back off and go to 1, unless it has been offline longer than
   ``give_up_after``: then exit GAVE_UP naming the last error.

A token file that has become unusable ends the runner at once (RunnerConfigError
propagates): a stale token would only hide the fault.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from longhaul.contract import RunnerExit
from longhaul.logfmt import log_event
from longhaul.tokens import fingerprint, redact
from longhaul.wire import Ack, Bye, Done, Hello, ProtocolError, decode, encode
from runner_stub.backoff import Backoff
from runner_stub.config import RunnerConfig
from runner_stub.outbox import Outbox
from runner_stub.token_source import TokenSource


@dataclass(frozen=True)
class ConnectionEnded:
    """How one connection ended: ``finished`` (Bye received) or lost with a reason."""

    finished: bool
    reason: str


class RunnerSession:
    def __init__(self, config: RunnerConfig, source: TokenSource) -> None:
        self.config = config
        self.source = source
        self.outbox = Outbox()
        self._changed = asyncio.Event()
        self._producing = True

    async def run(self) -> RunnerExit:
        producer = asyncio.create_task(self._produce())
        try:
            return await self._connect_loop()
        finally:
            producer.cancel()

    async def _produce(self) -> None:
        """Make events on a timer whether or not a connection is up: the work goes on offline."""
        limit = self.config.messages
        while limit == 0 or self.outbox.last_seq < limit:
            self.outbox.add(f"tick {self.outbox.last_seq + 1}")
            self._changed.set()
            if limit and self.outbox.last_seq >= limit:
                break
            await asyncio.sleep(self.config.interval)
        self._producing = False
        self._changed.set()

    async def _connect_loop(self) -> RunnerExit:
        cfg = self.config
        backoff = Backoff(initial=cfg.backoff_initial, maximum=max(cfg.backoff_max, cfg.backoff_initial))
        offline_since = time.monotonic()
        last_error = "never connected"
        attempt = 0
        while True:
            attempt += 1
            token = self.source.read()
            fp = fingerprint(token)
            log_event(
                "connecting",
                attempt=attempt,
                token_fp=fp,
                token_source=f"{self.source.kind}:{self.source.where}",
                pending=len(self.outbox),
            )
            connected = False
            try:
                async with connect(
                    cfg.url,
                    additional_headers={"Authorization": f"Bearer {token}"},
                    open_timeout=cfg.open_timeout,
                    ping_interval=cfg.ping_interval or None,
                    proxy=None,
                ) as ws:
                    connected = True
                    log_event("connected", attempt=attempt, token_fp=fp)
                    backoff.reset()
                    ended = await self._converse(ws)
                if ended.finished:
                    log_event("finished", last_seq=self.outbox.last_seq, attempts=attempt)
                    return RunnerExit.OK
                last_error = ended.reason
                log_event("disconnected", reason=ended.reason, token_fp=fp)
            except InvalidStatus as exc:
                status = exc.response.status_code
                body = exc.response.body.decode(errors="replace")[:120].strip() if exc.response.body else ""
                last_error = f"HTTP {status} {body}".strip()
                log_event("rejected", status=status, reason=redact(body, [token]), token_fp=fp)
            except (OSError, InvalidHandshake, TimeoutError, ConnectionClosed) as exc:
                last_error = redact(f"{type(exc).__name__}: {exc}", [token])
                log_event("connect_failed", error=last_error, token_fp=fp)
            if connected:
                offline_since = time.monotonic()
            offline = time.monotonic() - offline_since
            if offline >= cfg.give_up_after:
                log_event(
                    "gave_up",
                    offline_seconds=f"{offline:.1f}",
                    last_error=redact(last_error, [token]),
                    attempts=attempt,
                )
                return RunnerExit.GAVE_UP
            await asyncio.sleep(min(backoff.next_delay(), cfg.give_up_after - offline))

    async def _converse(self, ws: ClientConnection) -> ConnectionEnded:
        reader = asyncio.create_task(self._read(ws))
        sent_up_to = 0
        done_sent = False
        try:
            await ws.send(encode(Hello(runner_id=self.config.runner_id)))
            while True:
                self._changed.clear()
                for event in self.outbox.pending():
                    if event.seq > sent_up_to:
                        await ws.send(encode(event))
                        sent_up_to = event.seq
                if not self._producing and not len(self.outbox) and not done_sent:
                    await ws.send(encode(Done(last_seq=self.outbox.last_seq)))
                    done_sent = True
                waiter = asyncio.create_task(self._changed.wait())
                await asyncio.wait({waiter, reader}, return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                if reader.done():
                    return reader.result()
        except ConnectionClosed as exc:
            return ConnectionEnded(False, _close_reason(exc))
        finally:
            reader.cancel()

    async def _read(self, ws: ClientConnection) -> ConnectionEnded:
        try:
            async for frame in ws:
                try:
                    message = decode(frame)
                except ProtocolError as exc:
                    log_event("protocol_error", error=str(exc))
                    continue
                if isinstance(message, Ack):
                    if self.outbox.ack(message.seq):
                        self._changed.set()
                elif isinstance(message, Bye):
                    return ConnectionEnded(True, "bye")
        except ConnectionClosed as exc:
            return ConnectionEnded(False, _close_reason(exc))
        return ConnectionEnded(False, f"closed {ws.close_code} {ws.close_reason or ''}".strip())


def _close_reason(exc: ConnectionClosed) -> str:
    frame = exc.rcvd or exc.sent
    return f"closed {frame.code} {frame.reason}".strip() if frame else "connection lost (no close frame)"
