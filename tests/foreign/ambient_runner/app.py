"""The ambient runner: one agent session over a WebSocket to the platform backend.

Configuration (environment only):

* ``AGENTIC_SESSION_NAME``, ``AGENTIC_SESSION_NAMESPACE``, ``BACKEND_API_URL`` (required);
* ``BOT_TOKEN_PATH`` (default ``/var/run/secrets/ambient/bot-token``): the token file, re-read
  on every connect and reconnect;
* ``AGENT_STEPS`` (20), ``AGENT_STEP_SECONDS`` (1.0), ``AGENT_GIVE_UP_SECONDS`` (60),
  ``AGENT_HEALTH_PORT`` (8001; 0 picks a free port, which is logged).

Protocol (JSON text frames, client to server only; nothing is acknowledged):
``{"type": "agent.start", "session", "namespace", "next_step"}`` on every connection, then
``{"type": "agent.step", "step": n, "text"}`` per step, then ``{"type": "agent.finish"}`` and a
normal close (1000).  A dropped connection is re-established with bounded, jittered backoff and
the session continues with the next step; after ``AGENT_GIVE_UP_SECONDS`` offline it gives up.

Exit codes: 0 the session finished; 1 anything else (bad configuration, token file missing,
unreadable or empty, gave up, SIGTERM before the end).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import random
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import tenacity
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.version import version as websockets_version

from ambient_runner.health import HealthServer

DEFAULT_TOKEN_PATH = "/var/run/secrets/ambient/bot-token"
OPEN_TIMEOUT_SECONDS = 10.0
BACKOFF_MULTIPLIER_SECONDS = 0.5
BACKOFF_MAX_SECONDS = 5.0
RECONNECT_JITTER_SECONDS = 0.25  # pause before the first attempt after a drop (herds of runners)

log = logging.getLogger("ambient_runner")


class ConfigError(Exception):
    """The environment does not describe a session."""


class TokenFileError(Exception):
    """The token file is missing, unreadable or empty."""


class Transient(Exception):
    """A connect attempt failed in a way that may heal (network, backend down, token rejected)."""


class GaveUp(Exception):
    """Offline for longer than AGENT_GIVE_UP_SECONDS."""


@dataclass(frozen=True)
class Config:
    session: str
    namespace: str
    url: str
    token_path: str
    steps: int
    step_seconds: float
    give_up_seconds: float
    health_port: int

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        def required(name: str) -> str:
            value = env.get(name, "").strip()
            if not value:
                raise ConfigError(f"{name} is not set")
            return value

        def number(name: str, default: str, kind: type[int] | type[float], minimum: float) -> Any:
            raw = env.get(name, default).strip()
            try:
                value = kind(raw)
            except ValueError:
                raise ConfigError(f"{name} must be a {kind.__name__}, got {raw!r}") from None
            if value < minimum:
                raise ConfigError(f"{name} must be >= {minimum}, got {raw!r}")
            return value

        session, namespace = required("AGENTIC_SESSION_NAME"), required("AGENTIC_SESSION_NAMESPACE")
        return cls(
            session=session,
            namespace=namespace,
            url=session_url(required("BACKEND_API_URL"), namespace, session),
            token_path=env.get("BOT_TOKEN_PATH") or DEFAULT_TOKEN_PATH,
            steps=number("AGENT_STEPS", "20", int, 0),
            step_seconds=number("AGENT_STEP_SECONDS", "1.0", float, 0),
            give_up_seconds=number("AGENT_GIVE_UP_SECONDS", "60", float, 0),
            health_port=number("AGENT_HEALTH_PORT", "8001", int, 0),
        )


def session_url(api_url: str, namespace: str, session: str) -> str:
    """``http(s)://host/api`` -> ``ws(s)://host/api/projects/<ns>/sessions/<session>/ws``."""
    parts = urlsplit(api_url)
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme)
    if scheme is None or not parts.netloc:
        raise ConfigError(f"BACKEND_API_URL must be an http(s) URL, got {api_url!r}")
    path = f"{parts.path.rstrip('/')}/projects/{namespace}/sessions/{session}/ws"
    return urlunsplit((scheme, parts.netloc, path, "", ""))


def fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:8]


class StopWhenOffline(tenacity.stop.stop_base):
    """Stop retrying once the runner has been offline (no step sent) for ``seconds``."""

    def __init__(self, runner: Runner, seconds: float) -> None:
        self.runner, self.seconds = runner, seconds

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        since = self.runner.offline_since
        return since is not None and time.monotonic() - since >= self.seconds


class Runner:
    """One session.  Each behaviour is a method so a variant can replace exactly one."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.next_step = 1
        self.finished = False
        self.connected = False
        self.terminated = False
        self.offline_since: float | None = None  # monotonic time of the last drop without progress since

    # -- the token ---------------------------------------------------------------------------
    def read_token(self) -> str:
        """The token as the file holds it now (opened afresh: kubelet swaps files under us)."""
        path = self.config.token_path
        try:
            with open(path, encoding="utf-8") as f:
                token = f.read().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise TokenFileError(f"{type(exc).__name__}: {exc}") from exc
        if not token:
            raise TokenFileError(f"ValueError: token file {path!r} is empty")
        return token

    def token_label(self, token: str) -> str:
        """How a token appears in a log line: its fingerprint, never its value."""
        return f"token_fp={fingerprint(token)}"

    # -- connecting --------------------------------------------------------------------------
    async def open(self, token: str) -> ClientConnection:
        try:
            return await connect(
                self.config.url,
                additional_headers={"Authorization": f"Bearer {token}"},
                open_timeout=OPEN_TIMEOUT_SECONDS,
                ping_interval=20,
                ping_timeout=20,
                close_timeout=5,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            log.warning("handshake rejected status=%s %s", status, self.token_label(token))
            raise Transient(f"handshake rejected with HTTP {status}") from None
        except InvalidURI as exc:
            raise ConfigError(f"bad WebSocket URL: {exc}") from None
        except (OSError, TimeoutError, InvalidHandshake, ConnectionClosed) as exc:
            log.warning("connect failed: %s: %s", type(exc).__name__, exc)
            raise Transient(f"{type(exc).__name__}: {exc}") from None

    def stop_policy(self) -> tenacity.stop.stop_base:
        return StopWhenOffline(self, self.config.give_up_seconds)

    async def connect_with_retry(self) -> ClientConnection:
        """Connect, re-reading the token before every attempt; raise GaveUp when offline too long."""
        if self.offline_since is None:
            self.offline_since = time.monotonic()
        offline_since = self.offline_since
        attempts = 0

        def before_sleep(state: tenacity.RetryCallState) -> None:
            wait = state.next_action.sleep if state.next_action else 0.0
            offline = time.monotonic() - offline_since
            log.info(
                "reconnecting in %.2fs (offline %.1fs of %gs)", wait, offline, self.config.give_up_seconds
            )

        retrying = tenacity.AsyncRetrying(
            stop=self.stop_policy(),
            wait=tenacity.wait_random_exponential(
                multiplier=BACKOFF_MULTIPLIER_SECONDS, max=BACKOFF_MAX_SECONDS
            ),
            retry=tenacity.retry_if_exception_type(Transient),
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    token = self.read_token()
                    log.info(
                        "connecting attempt=%d url=%s %s", attempts, self.config.url, self.token_label(token)
                    )
                    ws = await self.open(token)
                    log.info("connected %s next_step=%d", self.token_label(token), self.next_step)
                    return ws
        except Transient as exc:
            offline = time.monotonic() - offline_since
            raise GaveUp(f"offline for {offline:.1f}s after {attempts} attempts; last error: {exc}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    # -- the session -------------------------------------------------------------------------
    def message(self, kind: str, **fields: Any) -> str:
        return json.dumps({"type": kind, **fields})

    async def converse(self, ws: ClientConnection) -> None:
        """Send the rest of the session on one connection; raises ConnectionClosed if it drops."""
        drain = asyncio.create_task(self._drain(ws))
        try:
            await ws.send(
                self.message(
                    "agent.start",
                    session=self.config.session,
                    namespace=self.config.namespace,
                    next_step=self.next_step,
                )
            )
            while self.next_step <= self.config.steps:
                step = self.next_step
                await ws.send(
                    self.message("agent.step", step=step, text=f"step {step} of {self.config.steps}")
                )
                self.next_step += 1
                if self.next_step <= self.config.steps:
                    await self._pause(ws, self.config.step_seconds)
            await ws.send(self.message("agent.finish", session=self.config.session, steps=self.config.steps))
            self.finished = True
            await ws.close(1000, "session finished")
            log.info("connection closed code=1000 (session finished)")
        finally:
            drain.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await drain

    async def _pause(self, ws: ClientConnection, seconds: float) -> None:
        """Sleep between steps, but notice a dropped connection at once."""
        closed = asyncio.create_task(ws.wait_closed())
        try:
            await asyncio.wait({closed}, timeout=seconds)
        finally:
            closed.cancel()
        if ws.close_code is not None:
            await ws.send("")  # raises ConnectionClosed with the close frames

    async def _drain(self, ws: ClientConnection) -> None:
        async for _ in ws:  # the protocol is one-way; keep the receive buffer empty
            pass

    async def session(self) -> None:
        while not self.finished:
            ws = await self.connect_with_retry()
            self.connected = True
            try:
                await self.converse(ws)
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else 1006
                reason = exc.rcvd.reason if exc.rcvd else "no close frame"
                log.info("connection closed code=%d reason=%r next_step=%d", code, reason, self.next_step)
                if self.offline_since is None:
                    self.offline_since = time.monotonic()
                pause = random.uniform(0.05, RECONNECT_JITTER_SECONDS)
                log.info("reconnecting in %.2fs after close", pause)
                await asyncio.sleep(pause)
            finally:
                self.connected = False
        log.info("session finished steps=%d", self.config.steps)

    # -- the process -------------------------------------------------------------------------
    def failure_exit_code(self) -> int:
        return 1

    def sigterm_exit_code(self) -> int:
        return 0 if self.finished else 1

    async def run(self) -> int:
        health = HealthServer(
            self.config.health_port, lambda: {"session": self.config.session, "connected": self.connected}
        )
        health.start()
        log.info("health server listening on :%d", health.port)
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()

        def on_signal(name: str) -> None:
            self.terminated = True
            log.warning("received %s (session finished=%s)", name, self.finished)
            if task is not None:
                task.cancel()

        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, on_signal, sig.name)
        try:
            await self.session()
            return 0
        except asyncio.CancelledError:
            if not self.terminated:
                raise
            code = self.sigterm_exit_code()
            if code:
                log.error("runner failed: Terminated: stopped by signal before the session finished")
            return code
        finally:
            health.stop()


def setup_logging() -> None:
    handler = logging.StreamHandler(sys.stdout)
    formatter = logging.Formatter("%(asctime)s.%(msecs)03dZ %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.getLogger("websockets").setLevel(logging.CRITICAL)  # its handshake logs carry headers


def main(runner_cls: type[Runner] = Runner, env: Mapping[str, str] | None = None) -> int:
    setup_logging()
    runner: Runner | None = None
    try:
        config = Config.from_env(os.environ if env is None else env)
        runner = runner_cls(config)
        runner.read_token()  # fail fast, before any connection attempt
        log.info(
            "runner starting session=%s/%s url=%s token_path=%s steps=%d websockets=%s",
            config.namespace,
            config.session,
            config.url,
            config.token_path,
            config.steps,
            websockets_version,
        )
        return asyncio.run(runner.run())
    except (ConfigError, TokenFileError, GaveUp, OSError) as exc:
        detail = str(exc) if isinstance(exc, TokenFileError) else f"{type(exc).__name__}: {exc}"
        log.error("runner failed: %s", detail)
        return runner.failure_exit_code() if runner is not None else 1
