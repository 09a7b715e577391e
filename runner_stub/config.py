"""Runner settings: environment first (that is what the operator sets), flags override.

Contract names (``WEBSOCKET_URL``, ``BOT_TOKEN_PATH``, ...) come from
``longhaul.contract``; the ``RUNNER_*`` knobs are the stub's own and let a
scenario shape its workload (how many events, how fast, when to give up).
"""

from __future__ import annotations

import argparse
import os
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from longhaul.contract import (
    ENV_RUNNER_CONTRACT,
    ENV_SESSION_NAME,
    ENV_WEBSOCKET_URL,
    UPSTREAM_TOKEN_PATH,
    Contract,
    RunnerExit,
)

ENV_MESSAGES = "RUNNER_MESSAGES"
ENV_INTERVAL = "RUNNER_MESSAGE_INTERVAL"
ENV_GIVE_UP = "RUNNER_GIVE_UP_SECONDS"
ENV_BACKOFF_INITIAL = "RUNNER_BACKOFF_INITIAL"
ENV_BACKOFF_MAX = "RUNNER_BACKOFF_MAX"
ENV_OPEN_TIMEOUT = "RUNNER_OPEN_TIMEOUT"
ENV_PING_INTERVAL = "RUNNER_PING_INTERVAL"
ENV_RUNNER_ID = "RUNNER_ID"
ENV_UPSTREAM_TOKEN_PATH = "RUNNER_UPSTREAM_TOKEN_PATH"


@dataclass(frozen=True)
class RunnerConfig:
    url: str
    contract: Contract = Contract.BOT_TOKEN_PATH
    messages: int = 0  # 0: produce events until SIGTERM
    interval: float = 1.0
    give_up_after: float = 300.0  # seconds without a connection before exiting GAVE_UP
    backoff_initial: float = 0.2
    backoff_max: float = 5.0
    open_timeout: float = 5.0
    ping_interval: float = 20.0
    runner_id: str = ""
    upstream_token_path: Path = Path(UPSTREAM_TOKEN_PATH)
    session: str = ""

    def __post_init__(self) -> None:
        if self.messages < 0 or self.interval < 0 or self.give_up_after <= 0 or self.backoff_initial <= 0:
            raise ValueError("messages and interval must be >= 0; give-up time and backoff > 0")


def _positive_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {text}")
    return value


def parse_config(argv: Sequence[str], env: Mapping[str, str] = os.environ) -> RunnerConfig:
    """Build the config from ``env`` and ``argv``; argparse exits with code 2 on bad input."""
    p = argparse.ArgumentParser(
        prog="runner_stub",
        description="Reference runner: holds a WebSocket, re-reads its token on every connect.",
    )
    p.add_argument(
        "--url", default=env.get(ENV_WEBSOCKET_URL), help=f"backend WebSocket URL [{ENV_WEBSOCKET_URL}]"
    )
    p.add_argument(
        "--contract",
        choices=[c.value for c in Contract],
        default=env.get(ENV_RUNNER_CONTRACT, Contract.BOT_TOKEN_PATH.value),
        help=f"token contract [{ENV_RUNNER_CONTRACT}]",
    )
    p.add_argument(
        "--messages",
        type=int,
        default=env.get(ENV_MESSAGES, "0"),
        help=f"events to send, then finish; 0 = until SIGTERM [{ENV_MESSAGES}]",
    )
    p.add_argument(
        "--interval",
        type=_positive_float,
        default=env.get(ENV_INTERVAL, "1.0"),
        help=f"seconds between events [{ENV_INTERVAL}]",
    )
    p.add_argument(
        "--give-up-after",
        type=_positive_float,
        default=env.get(ENV_GIVE_UP, "300"),
        help=f"seconds offline before exiting {int(RunnerExit.GAVE_UP)} [{ENV_GIVE_UP}]",
    )
    p.add_argument("--backoff-initial", type=_positive_float, default=env.get(ENV_BACKOFF_INITIAL, "0.2"))
    p.add_argument("--backoff-max", type=_positive_float, default=env.get(ENV_BACKOFF_MAX, "5.0"))
    p.add_argument("--open-timeout", type=_positive_float, default=env.get(ENV_OPEN_TIMEOUT, "5.0"))
    p.add_argument("--ping-interval", type=_positive_float, default=env.get(ENV_PING_INTERVAL, "20"))
    p.add_argument("--runner-id", default=env.get(ENV_RUNNER_ID) or f"{socket.gethostname()}-{os.getpid()}")
    p.add_argument(
        "--upstream-token-path",
        type=Path,
        default=Path(env.get(ENV_UPSTREAM_TOKEN_PATH, UPSTREAM_TOKEN_PATH)),
        help="token file of the upstream contract (override for tests)",
    )
    args = p.parse_args(list(argv))
    if not args.url:
        p.error(f"no backend URL: set {ENV_WEBSOCKET_URL} or --url")
    try:
        return RunnerConfig(
            url=args.url,
            contract=Contract(args.contract),
            messages=args.messages,
            interval=args.interval,
            give_up_after=args.give_up_after,
            backoff_initial=args.backoff_initial,
            backoff_max=args.backoff_max,
            open_timeout=args.open_timeout,
            ping_interval=args.ping_interval,
            runner_id=args.runner_id,
            upstream_token_path=args.upstream_token_path,
            session=env.get(ENV_SESSION_NAME, ""),
        )
    except ValueError as exc:
        p.error(str(exc))
