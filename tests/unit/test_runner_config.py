"""Runner settings come from the operator's env; flags override; bad values exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from longhaul.contract import Contract
from runner_stub.config import parse_config


def test_env_is_read() -> None:
    env = {
        "WEBSOCKET_URL": "ws://b/api/projects/n/sessions/s/ws",
        "RUNNER_CONTRACT": "legacy-env",
        "RUNNER_MESSAGES": "5",
        "RUNNER_MESSAGE_INTERVAL": "0.5",
        "RUNNER_GIVE_UP_SECONDS": "9",
        "RUNNER_ID": "r9",
        "RUNNER_UPSTREAM_TOKEN_PATH": "/x/y",
        "AGENTIC_SESSION_NAME": "s",
    }
    cfg = parse_config([], env)
    assert (cfg.url, cfg.contract, cfg.messages, cfg.interval) == (
        env["WEBSOCKET_URL"],
        Contract.LEGACY_ENV,
        5,
        0.5,
    )
    assert (cfg.give_up_after, cfg.runner_id, cfg.upstream_token_path, cfg.session) == (
        9.0,
        "r9",
        Path("/x/y"),
        "s",
    )


def test_flags_override_env() -> None:
    cfg = parse_config(
        ["--url", "ws://flag", "--messages", "3", "--contract", "upstream"],
        {"WEBSOCKET_URL": "ws://env", "RUNNER_MESSAGES": "7"},
    )
    assert (cfg.url, cfg.messages, cfg.contract) == ("ws://flag", 3, Contract.UPSTREAM)


def test_defaults_follow_the_fix() -> None:
    cfg = parse_config([], {"WEBSOCKET_URL": "ws://b"})
    assert cfg.contract is Contract.BOT_TOKEN_PATH
    assert cfg.messages == 0 and cfg.runner_id


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"WEBSOCKET_URL": "ws://b", "RUNNER_MESSAGES": "many"},
        {"WEBSOCKET_URL": "ws://b", "RUNNER_MESSAGE_INTERVAL": "-1"},
        {"WEBSOCKET_URL": "ws://b", "RUNNER_CONTRACT": "whatever"},
        {"WEBSOCKET_URL": "ws://b", "RUNNER_GIVE_UP_SECONDS": "0"},
    ],
)
def test_bad_settings_exit_2(env: dict[str, str]) -> None:
    with pytest.raises(SystemExit) as info:
        parse_config([], env)
    assert info.value.code == 2
