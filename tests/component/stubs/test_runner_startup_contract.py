"""The runner process at start-up: which token it presents, and how it fails fast.

Real backend, real runner, real files.  The backend's ledger says which token
(by fingerprint) reached it; the runner's exit code and log say why it ended.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from longhaul.contract import RunnerExit
from longhaul.fixtures.engine.launch import code_root
from longhaul.fixtures.rigs.stub_bench import StubBench
from longhaul.fixtures.util.waiting import wait_for
from longhaul.tokens import fingerprint

pytestmark = pytest.mark.component

FINISH = {"RUNNER_MESSAGES": "3"}


def test_bot_token_path_runner_delivers_and_exits_ok(stubs: StubBench) -> None:
    backend = stubs.backend()
    token = stubs.rotate()
    runner = stubs.runner(backend, {"BOT_TOKEN_PATH": str(stubs.token_path), **FINISH})
    assert runner.wait_exit(timeout=20) == RunnerExit.OK
    ev = backend.evidence(stubs.session)
    assert ev.accepted_fingerprints() == [fingerprint(token)], ev.describe()
    assert ev.exactly_once(stubs.runner_id, 3) and ev.finishes[-1].last_seq == 3, ev.describe()
    assert ev.handshakes[0].namespace == stubs.namespace


def test_file_wins_over_env_when_both_are_set(stubs: StubBench) -> None:
    backend = stubs.backend()
    file_token, env_token = stubs.rotate(), stubs.mint()
    runner = stubs.runner(
        backend, {"BOT_TOKEN_PATH": str(stubs.token_path), "BOT_TOKEN": env_token, **FINISH}
    )
    assert runner.wait_exit(timeout=20) == RunnerExit.OK
    assert backend.evidence(stubs.session).accepted_fingerprints() == [fingerprint(file_token)]


def test_env_is_the_fallback_when_bot_token_path_is_unset(stubs: StubBench) -> None:
    backend = stubs.backend()
    env_token = stubs.mint()
    runner = stubs.runner(backend, {"BOT_TOKEN": env_token, **FINISH})
    assert runner.wait_exit(timeout=20) == RunnerExit.OK
    assert backend.evidence(stubs.session).accepted_fingerprints() == [fingerprint(env_token)]
    assert runner.events("starting")[0]["token_source"] == "env:BOT_TOKEN"


@pytest.mark.parametrize("upstream_file_present", [True, False])
def test_upstream_contract_uses_fixed_path_else_env(stubs: StubBench, upstream_file_present: bool) -> None:
    backend = stubs.backend()
    file_token, env_token = stubs.rotate(), stubs.mint()
    upstream_path = stubs.token_path if upstream_file_present else stubs.logs / "absent"
    env = {
        "RUNNER_CONTRACT": "upstream",
        "RUNNER_UPSTREAM_TOKEN_PATH": str(upstream_path),
        "BOT_TOKEN": env_token,
    }
    runner = stubs.runner(backend, {**env, **FINISH})
    assert runner.wait_exit(timeout=20) == RunnerExit.OK
    expected = file_token if upstream_file_present else env_token
    assert backend.evidence(stubs.session).accepted_fingerprints() == [fingerprint(expected)]


def test_legacy_contract_ignores_the_file(stubs: StubBench) -> None:
    backend = stubs.backend()
    stubs.rotate()
    env_token = stubs.mint()
    env = {"RUNNER_CONTRACT": "legacy-env", "BOT_TOKEN_PATH": str(stubs.token_path), "BOT_TOKEN": env_token}
    runner = stubs.runner(backend, {**env, **FINISH})
    assert runner.wait_exit(timeout=20) == RunnerExit.OK
    assert backend.evidence(stubs.session).accepted_fingerprints() == [fingerprint(env_token)]


@pytest.mark.parametrize(
    ("problem", "words"),
    [("missing", "does not exist"), ("directory", "is a directory"), ("empty", "is empty")],
)
def test_unusable_token_file_exits_66_before_connecting(stubs: StubBench, problem: str, words: str) -> None:
    backend = stubs.backend()
    path = stubs.logs.parent / "bad-token"
    if problem == "directory":
        path.mkdir()
    elif problem == "empty":
        path.write_text("\n")
    runner = stubs.runner(backend, {"BOT_TOKEN_PATH": str(path), "BOT_TOKEN": stubs.mint()})
    assert runner.wait_exit(timeout=20) == RunnerExit.TOKEN_FILE_UNUSABLE
    fatal = runner.events("fatal")
    assert fatal and str(path) in fatal[0]["error"] and words in fatal[0]["error"], runner.events()
    assert backend.ledger().records == (), "a runner with an unusable token file must not connect at all"


def test_no_token_source_exits_78(stubs: StubBench) -> None:
    backend = stubs.backend()
    runner = stubs.runner(backend, {})
    assert runner.wait_exit(timeout=20) == RunnerExit.NO_TOKEN_SOURCE
    assert "no token source" in runner.events("fatal")[0]["error"]


def test_sigterm_ends_an_unfinished_runner_with_exit_143_so_a_job_replaces_it(stubs: StubBench) -> None:
    backend = stubs.backend()
    stubs.rotate()
    runner = stubs.runner(backend, {"BOT_TOKEN_PATH": str(stubs.token_path)})
    wait_for(
        "a few deliveries",
        lambda: len(backend.evidence(stubs.session).delivered(stubs.runner_id)),
        lambda n: n >= 3,
        timeout=20,
    )
    runner.signal()
    assert runner.wait_exit(timeout=10) == RunnerExit.INTERRUPTED
    assert runner.events("stopped")[0]["signal"] == "SIGTERM"


def test_the_fail_fast_path_imports_neither_asyncio_nor_websockets(tmp_path: Path) -> None:
    """Exit 66 within 1 s of starting, on a starved node too: the heavy imports come after the check."""
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(code_root()),
        "BOT_TOKEN_PATH": str(tmp_path / "absent"),
        "WEBSOCKET_URL": "ws://127.0.0.1:9/api/projects/ns/sessions/s/ws",
    }
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "runner_stub"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == RunnerExit.TOKEN_FILE_UNUSABLE, done.stderr[-2000:]
    imported = {
        line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "import time:" in line
    }
    assert "runner_stub.token_source" in imported
    assert not {"asyncio", "websockets", "runner_stub.session"} & imported
