"""Flag/env parsing: good values become one frozen settings object, bad ones one clear error."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from longhaul.contract import Contract
from operator_stub.settings import OperatorSettings, SettingsError, parse_duration, parse_settings

BACKEND = ["--backend-url", "http://198.18.0.1:8765"]


def parse(*argv: str, env: dict[str, str] | None = None) -> OperatorSettings:
    return parse_settings([*BACKEND, *argv], env or {})


def test_defaults_follow_the_seed_contract() -> None:
    s = parse()
    assert s.mode is Contract.BOT_TOKEN_PATH
    assert s.refresh_interval == timedelta(minutes=45)
    assert s.check_period == timedelta(seconds=5)
    assert s.token_expiration_seconds == 3600
    assert s.runner_image == "longhaul/runner:latest"
    assert s.image_pull_policy == "IfNotPresent"
    assert s.namespaces == () and s.runner_command is None and not s.once
    assert s.websocket_base == "ws://198.18.0.1:8765"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("45m", 2700), ("30s", 30), ("5", 5), ("0.5", 0.5), ("1h30m", 5400), ("500ms", 0.5), (" 2h ", 7200)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text, "--x") == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "abc", "5x", "-5s", "m", "1.s", "5 s", "1h-30m", "∞"])
def test_bad_durations_name_the_flag_and_the_accepted_form(text: str) -> None:
    with pytest.raises(SettingsError, match=r"--check-period: invalid duration .*e\.g\. 45m, 30s"):
        parse_duration(text, "--check-period")


@pytest.mark.parametrize("text", ["0", "0s", "0m0s", "0.0"])
def test_zero_durations_are_rejected(text: str) -> None:
    with pytest.raises(SettingsError, match="must be greater than zero"):
        parse_duration(text, "--refresh-interval")


@settings(max_examples=100, deadline=None)
@given(hours=st.integers(0, 99), minutes=st.integers(0, 99), secs=st.integers(0, 99), unitless=st.booleans())
def test_compound_durations_add_up(hours: int, minutes: int, secs: int, unitless: bool) -> None:
    total = hours * 3600 + minutes * 60 + secs
    if total == 0:
        return
    text = str(total) if unitless else f"{hours}h{minutes}m{secs}s"
    assert parse_duration(text, "--x").total_seconds() == total


@pytest.mark.parametrize("value", ["599", "0", "-1", str(2**32 + 1)])
def test_token_expiration_must_be_within_token_request_limits(value: str) -> None:
    with pytest.raises(SettingsError, match="--token-expiration-seconds"):
        parse("--token-expiration-seconds", value, "--refresh-interval", "30s")


def test_token_expiration_that_is_not_a_number_is_a_clear_error() -> None:
    with pytest.raises(SettingsError, match=r"--token-expiration-seconds: 'ten' is not an integer"):
        parse("--token-expiration-seconds", "ten")


def test_refresh_interval_must_leave_room_before_expiry() -> None:
    with pytest.raises(SettingsError, match=r"2700s .* exceeds the token expiration 600s"):
        parse("--token-expiration-seconds", "600")
    ok = parse("--token-expiration-seconds", "600", "--refresh-interval", "5m", "--check-period", "5s")
    assert ok.refresh_interval == timedelta(minutes=5)


def test_fast_tier_settings() -> None:
    s = parse("--token-expiration-seconds", "600", "--refresh-interval", "5", "--check-period", "1s")
    assert s.refresh_policy().interval == timedelta(seconds=5)
    assert s.refresh_policy().expiry_margin == timedelta(seconds=91)


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("http://198.18.0.1:8765", "ws://198.18.0.1:8765"),
        ("http://198.18.0.1:8765/", "ws://198.18.0.1:8765"),
        ("https://backend.example", "wss://backend.example"),
        ("ws://[::1]:9000", "ws://[::1]:9000"),
        ("wss://h:1", "wss://h:1"),
    ],
)
def test_backend_url_becomes_the_websocket_base(url: str, base: str) -> None:
    assert parse_settings(["--backend-url", url], {}).websocket_base == base


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("198.18.0.1:8765", "is not an http"),
        ("ftp://h:1", "is not an http"),
        ("http://", "is not an http"),
        ("http://h:1/api", "must not carry a path"),
        ("http://h:1?x=1", "must not carry a path"),
        ("http://h:99999", "invalid port"),
    ],
)
def test_bad_backend_urls(url: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse_settings(["--backend-url", url], {})


def test_backend_url_is_required() -> None:
    with pytest.raises(SettingsError, match=r"--backend-url .* is required"):
        parse_settings([], {})


def test_env_fallbacks_and_flag_precedence() -> None:
    env = {
        "LONGHAUL_OPERATOR_BACKEND_URL": "http://10.0.0.1:1",
        "LONGHAUL_OPERATOR_MODE": "upstream",
        "LONGHAUL_OPERATOR_NAMESPACES": "a, b,,a",
        "LONGHAUL_OPERATOR_REFRESH_INTERVAL": "30s",
        "LONGHAUL_OPERATOR_RUNNER_COMMAND": "python3 -m runner_stub --flag 'two words'",
        "LONGHAUL_OPERATOR_TOKEN_AUDIENCES": "aud1,aud2",
        "LONGHAUL_OPERATOR_ONCE": "true",
    }
    s = parse_settings([], env)
    assert s.mode is Contract.UPSTREAM
    assert s.namespaces == ("a", "b")
    assert s.refresh_interval == timedelta(seconds=30)
    assert s.runner_command == ("python3", "-m", "runner_stub", "--flag", "two words")
    assert s.token_audiences == ("aud1", "aud2")
    assert s.once
    flagged = parse_settings(["--mode", "legacy-env", "--namespace", "c", "--backend-url", "http://h:2"], env)
    assert flagged.mode is Contract.LEGACY_ENV and flagged.namespaces == ("c",)
    assert flagged.websocket_base == "ws://h:2"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--mode", "subpath"], "--mode: 'subpath' is not one of bot-token-path, legacy-env, upstream"),
        (["--image-pull-policy", "always"], "--image-pull-policy: 'always' is not one of"),
        (["--namespace", "a", "--all-namespaces"], "mutually exclusive"),
        (["--namespace", "Bad_NS"], "not a valid namespace name"),
        (["--runner-command", "python 'unterminated"], "--runner-command: cannot split"),
        (["--runner-image", " "], "--runner-image must not be empty"),
        (["--backoff-limit", "-1"], "--backoff-limit: -1 must not be negative"),
        (["--no-such-flag"], "unrecognized arguments"),
    ],
)
def test_bad_values_are_clear_errors(argv: list[str], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        parse(*argv)


def test_describe_names_the_settings_without_secrets() -> None:
    fields = parse("--namespace", "ns1", "--mode", "upstream").describe()
    assert fields["mode"] == "upstream" and fields["namespaces"] == "ns1" and fields["refresh"] == "2700s"


def test_the_program_exits_2_with_one_clear_line_on_bad_settings() -> None:
    """A real process: bad settings fail before any cluster access, with exit code 2."""
    done = subprocess.run(
        [sys.executable, "-m", "operator_stub", *BACKEND, "--token-expiration-seconds", "300"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("operator error: --token-expiration-seconds: 300")
