"""What the backend tests of the cluster tier do the same way, whichever validator the backend runs.

Both ``--auth kube`` and ``--auth jwks`` must answer a bare WebSocket upgrade
with the right status and body, and must let a runner holding a real
TokenRequest token deliver its messages exactly once: the checks are one
function each here, so the two validators are held to the very same test.
"""

from __future__ import annotations

from pathlib import Path

from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from longhaul.contract import RunnerExit
from longhaul.fixtures.rigs.stub_bench import FAST_RUNNER_ENV
from longhaul.fixtures.rigs.stub_processes import BackendProcess, RunnerProcess
from longhaul.tokens import fingerprint


def handshake(url: str, token: str | None) -> tuple[int, str]:
    """(HTTP status, body) of a WebSocket upgrade; 101 if accepted."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else None
    try:
        with connect(url, additional_headers=headers, proxy=None, open_timeout=15):
            return 101, ""
    except InvalidStatus as exc:
        return exc.response.status_code, exc.response.body.decode(errors="replace").strip()


def assert_runner_delivers(backend: BackendProcess, namespace: str, token: str, workdir: Path) -> None:
    """A runner reading ``token`` from its BOT_TOKEN_PATH file delivers 3 messages once each, then exits OK.

    Its logs go to ``workdir / "logs"``, where the backend fixtures scan for
    leaked tokens; the token file is removed afterwards, pass or fail.
    """
    token_file = workdir / "runner-token" / "k8s-token"
    token_file.parent.mkdir()
    token_file.write_text(token)
    env = {
        "WEBSOCKET_URL": backend.url(namespace, "s1"),
        "BOT_TOKEN_PATH": str(token_file),
        "AGENTIC_SESSION_NAME": "s1",
        "AGENTIC_SESSION_NAMESPACE": namespace,
        "RUNNER_ID": "r1",
        "RUNNER_MESSAGES": "3",
        **FAST_RUNNER_ENV,
    }
    runner = RunnerProcess(workdir / "logs", env)
    try:
        assert runner.start().wait_exit(timeout=60) == RunnerExit.OK, runner.events()[-5:]
    finally:
        runner.stop()
        token_file.unlink()
    ev = backend.evidence("s1")
    assert [(h.status, h.token_fp) for h in ev.handshakes] == [(101, fingerprint(token))]
    assert ev.exactly_once("r1", 3)
