"""Token rotation with real processes: the fix survives it, the legacy contract does not.

The backend closes every connection after a short age (as a load balancer
would), so the runner reconnects, and so re-presents a token, about once a
second.  Rotation is the kubelet-style swap of the volume's ``..data`` link.
"""

from __future__ import annotations

import pytest

from longhaul.contract import RunnerExit
from longhaul.fixtures.rigs.stub_bench import StubBench
from longhaul.fixtures.rigs.stub_processes import BackendProcess, RunnerProcess
from longhaul.fixtures.util.waiting import wait_for
from longhaul.ledger import SessionEvidence
from longhaul.tokens import fingerprint

pytestmark = pytest.mark.component

MAX_AGE = ("--max-connection-age", "0.8")


def wait_accepted(
    backend: BackendProcess, stubs: StubBench, token: str, after: float = 0.0
) -> SessionEvidence:
    """Wait until the backend accepted ``token`` in a handshake at or after time ``after``."""
    backend.wait_accepted(stubs.session, fingerprint(token), after=after)
    return backend.evidence(stubs.session)


def assert_no_gaps(ev: SessionEvidence, runner_id: str) -> None:
    delivered = ev.delivered(runner_id)
    assert delivered, ev.describe()
    assert ev.missing(runner_id, max(delivered)) == [], ev.describe()
    assert len(delivered) == len(set(delivered)), "a first arrival was recorded twice"


def test_each_rotated_token_is_presented_on_the_next_reconnect(stubs: StubBench) -> None:
    backend = stubs.backend(*MAX_AGE)
    tokens = [stubs.rotate()]
    runner = stubs.runner(backend, {"BOT_TOKEN_PATH": str(stubs.token_path)})
    wait_accepted(backend, stubs, tokens[0])
    for _ in range(3):
        tokens.append(stubs.rotate())
        wait_accepted(backend, stubs, tokens[-1])
    runner.signal()
    assert runner.wait_exit(timeout=10) == RunnerExit.INTERRUPTED
    ev = backend.evidence(stubs.session)
    assert ev.accepted_fingerprints() == [fingerprint(t) for t in tokens]
    assert ev.rejected == ()
    assert_no_gaps(ev, stubs.runner_id)
    runner_fps = list(dict.fromkeys(e["token_fp"] for e in runner.events("connecting")))
    assert runner_fps == [fingerprint(t) for t in tokens], "the runner's own log must show each token in turn"


@pytest.mark.parametrize(("contract", "survives"), [("bot-token-path", True), ("legacy-env", False)])
def test_same_rotation_only_the_file_contract_survives_expiry(
    stubs: StubBench, contract: str, survives: bool
) -> None:
    """Identical world (env token and file token both start short-lived, the file gets refreshed);
    only RUNNER_CONTRACT differs.  Legacy keeps presenting the expired env token and gives up."""
    backend = stubs.backend(*MAX_AGE)
    first = stubs.rotate(lifetime=3)
    env = {
        "RUNNER_CONTRACT": contract,
        "BOT_TOKEN_PATH": str(stubs.token_path),
        "BOT_TOKEN": first,
        "RUNNER_GIVE_UP_SECONDS": "2",
    }
    runner = stubs.runner(backend, env)
    ev = wait_accepted(backend, stubs, first)
    expiry = float(ev.accepted[0].exp or 0)
    refreshed = stubs.rotate()
    if survives:
        wait_accepted(backend, stubs, refreshed, after=expiry + 0.5)
        assert runner.returncode() is None, runner.events()[-3:]
        assert backend.evidence(stubs.session).rejected == ()
    else:
        assert runner.wait_exit(timeout=25) == RunnerExit.GAVE_UP
        ev = backend.evidence(stubs.session)
        assert {(h.status, h.reason, h.token_fp) for h in ev.rejected} == {
            (401, "Token expired or invalid", fingerprint(first))
        }
        assert fingerprint(refreshed) not in ev.accepted_fingerprints()
        assert "HTTP 401" in runner.events("gave_up")[0]["last_error"]


def test_runner_recovers_when_the_refresh_lands_after_expiry(stubs: StubBench) -> None:
    """A 401 is not fatal: the runner keeps re-reading the file until a good token appears."""
    backend = stubs.backend(*MAX_AGE)
    stale = stubs.rotate(lifetime=2)
    runner = stubs.runner(backend, {"BOT_TOKEN_PATH": str(stubs.token_path), "RUNNER_GIVE_UP_SECONDS": "60"})
    rejected = wait_for(
        "the expired token to be rejected",
        lambda: backend.evidence(stubs.session).rejected,
        lambda r: any(h.token_fp == fingerprint(stale) for h in r),
        timeout=20,
    )
    assert rejected[0].status == 401
    fresh = stubs.rotate()
    wait_accepted(backend, stubs, fresh, after=rejected[0].t)
    assert runner.returncode() is None
    assert any(e["token_fp"] == fingerprint(stale) for e in runner.events("rejected"))


def test_token_file_vanishing_mid_session_fails_fast_on_reconnect(stubs: StubBench) -> None:
    backend = stubs.backend()
    token = stubs.rotate()
    runner = stubs.runner(backend, {"BOT_TOKEN_PATH": str(stubs.token_path), "BOT_TOKEN": stubs.mint()})
    wait_accepted(backend, stubs, token)
    stubs.volume.remove("k8s-token")
    assert backend.drop(stubs.session) == 1
    assert runner.wait_exit(timeout=15) == RunnerExit.TOKEN_FILE_UNUSABLE
    assert "does not exist" in runner.events("fatal")[0]["error"]
    assert len(backend.evidence(stubs.session).accepted) == 1, "no reconnect with the env token"


def test_close_on_token_expiry_forces_a_reconnect_with_the_refreshed_token(stubs: StubBench) -> None:
    backend = stubs.backend("--close-on-token-expiry")
    short = stubs.rotate(lifetime=2)
    runner: RunnerProcess = stubs.runner(backend, {"BOT_TOKEN_PATH": str(stubs.token_path)})
    wait_accepted(backend, stubs, short)
    fresh = stubs.rotate()
    ev = wait_accepted(backend, stubs, fresh)
    assert [(c.code, c.reason) for c in ev.closes][:1] == [(4001, "token expired")], ev.describe()
    assert runner.returncode() is None
