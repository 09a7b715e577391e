"""The foreign runner (``python3 -m ambient_runner``) as a real process against a real WebSocket server.

Each behaviour is a check function; the correct runner passes every check, and every broken
variant (``ambient_runner.broken.<name>``) fails each check its ``KILLED_BY`` names.  The token
volume is written the way kubelet's AtomicWriter does it (``..data`` symlink swap).
"""

from __future__ import annotations

import ast
import asyncio
import hashlib
import json
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from ambient_runner import broken
from ambient_runner.broken import VARIANTS
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from longhaul.fixtures.rigs.projected_secret import ProjectedSecretDir

pytestmark = pytest.mark.component

SESSION, NAMESPACE = "s1", "proj-a"
WS_PATH = f"/api/projects/{NAMESPACE}/sessions/{SESSION}/ws"
CORRECT = "ambient_runner"


def fp(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:8]


@dataclass
class Handshake:
    path: str
    token_fp: str
    status: int


@dataclass
class Conn:
    token_fp: str
    messages: list[dict[str, object]] = field(default_factory=list)
    close_code: int | None = None


class Backend:
    """A small WebSocket backend in a thread: checks the Bearer token, records what arrives.

    ``close_after``: close each connection (1012) after that many messages, so the runner reconnects.
    """

    def __init__(self, valid: set[str], close_after: int | None = None) -> None:
        self.valid = set(valid)
        self.close_after = close_after
        self.handshakes: list[Handshake] = []
        self.conns: list[Conn] = []
        self.lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._server: Server | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Backend:
        self._thread.start()
        assert self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            assert self._server is not None
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    @property
    def api_url(self) -> str:
        assert self._server is not None
        port = next(iter(self._server.sockets)).getsockname()[1]
        return f"http://127.0.0.1:{port}/api"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> None:
            self._server = await serve(self._handler, "127.0.0.1", 0, process_request=self._check)
            self._ready.set()

        self._loop.run_until_complete(start())
        self._loop.run_forever()

    def _check(self, connection: ServerConnection, request: Request) -> Response | None:
        auth = request.headers.get("Authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
        if request.path != WS_PATH:
            status = 404
        elif not token.strip() or token not in self.valid:
            status = 401
        else:
            status = 101
        with self.lock:
            self.handshakes.append(Handshake(request.path, fp(token) if token else "", status))
        if status == 101:
            return None
        return connection.respond(status, "Token expired or invalid\n" if status == 401 else "Not Found\n")

    async def _handler(self, ws: ServerConnection) -> None:
        auth = ws.request.headers.get("Authorization", "") if ws.request else ""
        conn = Conn(fp(auth.removeprefix("Bearer ")))
        with self.lock:
            self.conns.append(conn)
        try:
            async for raw in ws:
                conn.messages.append(json.loads(raw))
                if self.close_after and len(conn.messages) >= self.close_after:
                    await ws.close(1012, "rotate")
        except ConnectionClosed:
            pass
        conn.close_code = ws.close_code

    def accepted_fps(self) -> list[str]:
        with self.lock:
            return [h.token_fp for h in self.handshakes if h.status == 101]

    def rejected(self) -> list[Handshake]:
        with self.lock:
            return [h for h in self.handshakes if h.status != 101]

    def messages(self) -> list[dict[str, object]]:
        with self.lock:
            return [m for c in self.conns for m in c.messages]

    def steps(self) -> list[int]:
        return [int(str(m["step"])) for m in self.messages() if m.get("type") == "agent.step"]


class RunnerProc:
    def __init__(self, module: str, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = log.open("wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module], env=env, stdout=self._out, stderr=subprocess.STDOUT
        )

    def wait(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def text(self) -> str:
        self._out.flush()
        return self.log.read_text(errors="replace")

    def wait_log(self, pattern: str, timeout: float = 10) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.text())
            if found:
                return found
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no log line matching {pattern!r}; log:\n{self.text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._out.close()


@dataclass
class Bench:
    module: str
    env: dict[str, str]
    tmp: Path
    procs: list[RunnerProc] = field(default_factory=list)

    def startup_seconds(self) -> float:
        """What starting the interpreter and importing the runner takes here now (a loaded machine
        takes seconds): the fail-fast bound is 1 s of the runner's own work on top of it."""
        started = time.monotonic()
        subprocess.run(
            [sys.executable, "-c", "import ambient_runner.app"], env=self.env, check=True, timeout=60
        )
        return time.monotonic() - started

    def runner(self, backend_url: str, token_path: Path, **extra: str) -> RunnerProc:
        env = {
            **self.env,
            "AGENTIC_SESSION_NAME": SESSION,
            "AGENTIC_SESSION_NAMESPACE": NAMESPACE,
            "BACKEND_API_URL": backend_url,
            "BOT_TOKEN_PATH": str(token_path),
            "AGENT_HEALTH_PORT": "0",
            **extra,
        }
        proc = RunnerProc(self.module, env, self.tmp / f"runner-{len(self.procs)}.log")
        self.procs.append(proc)
        return proc


@pytest.fixture()
def bench_factory(runner_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[[str], Bench]]:
    made: list[Bench] = []

    def make(module: str) -> Bench:
        bench = Bench(module, runner_env, tmp_path / module.rsplit(".", 1)[-1])
        bench.tmp.mkdir(parents=True, exist_ok=True)
        made.append(bench)
        return bench

    yield make
    for bench in made:
        for proc in bench.procs:
            proc.stop()


# -- the behaviour checks: each raises AssertionError when the behaviour is missing ---------------


def check_completes(bench: Bench) -> None:
    """A session runs its steps in order on the derived URL with the Bearer token, then exits 0."""
    volume = ProjectedSecretDir(bench.tmp / "vol")
    volume.write({"bot-token": "tok-complete\n"})
    with Backend({"tok-complete"}) as backend:
        runner = bench.runner(
            backend.api_url, volume.path("bot-token"), AGENT_STEPS="5", AGENT_STEP_SECONDS="0.05"
        )
        assert runner.wait(20) == 0, runner.text()
        kinds = [m["type"] for m in backend.messages()]
        assert kinds == ["agent.start"] + ["agent.step"] * 5 + ["agent.finish"], kinds
        assert backend.steps() == [1, 2, 3, 4, 5]
        assert backend.conns[-1].close_code == 1000
        assert backend.handshakes[0].path == WS_PATH
        assert backend.accepted_fps() == [fp("tok-complete")]


def check_rereads_rotated_token(bench: Bench) -> None:
    """Each reconnect presents the token the volume holds now; the revoked one is never accepted again."""
    volume = ProjectedSecretDir(bench.tmp / "vol")
    volume.write({"bot-token": "tok-one"})
    with Backend({"tok-one"}, close_after=3) as backend:
        runner = bench.runner(
            backend.api_url,
            volume.path("bot-token"),
            AGENT_STEPS="12",
            AGENT_STEP_SECONDS="0.15",
            AGENT_GIVE_UP_SECONDS="4",
        )
        runner.wait_log(r"connected token_fp=" + fp("tok-one"))
        volume.write({"bot-token": "  tok-two\n"})  # whitespace around it is stripped
        backend.valid = {"tok-two"}  # the old token is revoked
        code = runner.wait(30)
        accepted = backend.accepted_fps()
        assert fp("tok-two") in accepted, f"rotated token never presented: {accepted}\n{runner.text()}"
        assert code == 0, runner.text()
        steps = backend.steps()
        assert steps == sorted(set(steps)), f"steps repeated or out of order: {steps}"
        assert backend.messages()[-1]["type"] == "agent.finish"
        assert re.search(r"reconnecting in", runner.text())


def _bad_token_path(bench: Bench, kind: str) -> Path:
    path = bench.tmp / "vol" / "bot-token"
    path.parent.mkdir(parents=True, exist_ok=True)
    if kind == "empty":
        path.write_text("  \n")
    elif kind == "directory":
        path.mkdir()
    return path


@pytest.fixture(params=["absent", "empty", "directory"])
def bad_token(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def check_fails_fast_on_missing_file(bench: Bench, kind: str = "absent") -> None:
    """A missing/empty/directory token file: exit 1 within 1 s, the path and cause logged, no connection.

    The 1 s is the runner's own work beyond interpreter start-up (measured beside it); on a machine
    this loaded a scheduler hiccup can exceed it once, so the timing (only) gets three tries.
    """
    path = _bad_token_path(bench, kind)
    cause = {"absent": "FileNotFoundError", "empty": "ValueError", "directory": "IsADirectoryError"}[kind]
    overheads = []
    for _ in range(3):
        startup = bench.startup_seconds()
        with Backend({"whatever"}) as backend:
            runner = bench.runner(backend.api_url, path)
            code = runner.wait(5 + 2 * startup)
            elapsed = runner.elapsed
            text = runner.text()
            assert code == 1, f"exit {code}, want 1\n{text}"
            line = re.search(r"ERROR runner failed: (\w+): .*", text)
            assert line and line.group(1) == cause, text
            assert str(path) in line.group(0), text
            assert backend.handshakes == [], "no connection attempt may reach the backend"
        overheads.append(elapsed - startup)
        if overheads[-1] < 1.0:
            return
    raise AssertionError(f"took {overheads} s beyond interpreter start-up, want < 1.0")


def check_gives_up_with_exit_1(bench: Bench) -> None:
    """Every handshake rejected (401): retried with backoff, then exit 1 after AGENT_GIVE_UP_SECONDS."""
    volume = ProjectedSecretDir(bench.tmp / "vol")
    volume.write({"bot-token": "tok-stale"})
    with Backend({"tok-fresh"}) as backend:
        runner = bench.runner(backend.api_url, volume.path("bot-token"), AGENT_GIVE_UP_SECONDS="2")
        code = runner.wait(15)
        assert code is not None, f"still running {runner.elapsed:.0f}s after a 2 s give-up\n{runner.text()}"
        assert code == 1, runner.text()
        assert len(backend.rejected()) >= 2, "a 401 must be retried (the token may have been refreshed)"
        assert "ERROR runner failed: GaveUp:" in runner.text()


def check_health_answers(bench: Bench) -> None:
    """``GET /health`` answers 200 while the process runs."""
    volume = ProjectedSecretDir(bench.tmp / "vol")
    volume.write({"bot-token": "tok-h"})
    with Backend({"tok-h"}) as backend:
        runner = bench.runner(
            backend.api_url, volume.path("bot-token"), AGENT_STEPS="100", AGENT_STEP_SECONDS="0.2"
        )
        port = int(runner.wait_log(r"health server listening on :(\d+)").group(1))
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as answer:
            assert answer.status == 200
            assert json.loads(answer.read())["status"] == "ok"


def check_sigterm_exits_1(bench: Bench) -> None:
    """SIGTERM before the session finished: exit 1, never 0."""
    volume = ProjectedSecretDir(bench.tmp / "vol")
    volume.write({"bot-token": "tok-t"})
    with Backend({"tok-t"}) as backend:
        runner = bench.runner(
            backend.api_url, volume.path("bot-token"), AGENT_STEPS="100", AGENT_STEP_SECONDS="0.2"
        )
        runner.wait_log(r"connected token_fp=")
        runner.proc.send_signal(signal.SIGTERM)
        code = runner.wait(10)
        assert code == 1, f"exit {code} after SIGTERM mid-session\n{runner.text()}"


def check_never_logs_token(bench: Bench) -> None:
    """Rejections, rotations, reconnects: the log shows fingerprints, never a token value."""
    volume = ProjectedSecretDir(bench.tmp / "vol")
    tokens = ["secret-aaaa-1111", "secret-bbbb-2222"]
    volume.write({"bot-token": tokens[0]})
    with Backend({tokens[0]}, close_after=2) as backend:
        runner = bench.runner(
            backend.api_url, volume.path("bot-token"), AGENT_STEPS="6", AGENT_STEP_SECONDS="0.1"
        )
        runner.wait_log("connected token_fp=")
        backend.valid = {tokens[1]}
        runner.wait_log("handshake rejected status=401")
        volume.write({"bot-token": tokens[1]})
        runner.wait(30)
        text = runner.text()
        assert fp(tokens[0]) in text and fp(tokens[1]) in text, text
        for token in tokens:
            assert token not in text, "a token value is in the runner's log"
            assert token[-8:] not in text, "a token tail is in the runner's log"


CHECKS: dict[str, Callable[[Bench], None]] = {
    "completes": check_completes,
    "rereads-rotated-token": check_rereads_rotated_token,
    "fails-fast-on-missing-file": check_fails_fast_on_missing_file,
    "gives-up-with-exit-1": check_gives_up_with_exit_1,
    "health-answers": check_health_answers,
    "sigterm-exits-1": check_sigterm_exits_1,
    "never-logs-token": check_never_logs_token,
}


# -- the correct runner passes every check -------------------------------------------------------


@pytest.mark.parametrize("check", [c for c in CHECKS if c != "fails-fast-on-missing-file"])
def test_correct_runner(check: str, bench_factory: Callable[[str], Bench]) -> None:
    CHECKS[check](bench_factory(CORRECT))


def test_correct_runner_fails_fast(bad_token: str, bench_factory: Callable[[str], Bench]) -> None:
    check_fails_fast_on_missing_file(bench_factory(CORRECT), bad_token)


def test_bad_config_exits_1(bench_factory: Callable[[str], Bench]) -> None:
    bench = bench_factory(CORRECT)
    runner = bench.runner("ftp://nowhere", bench.tmp / "none", AGENT_STEPS="x")
    assert runner.wait(5) == 1
    assert "ERROR runner failed: ConfigError:" in runner.text()


# -- each broken variant fails what it says kills it ---------------------------------------------


def variant_facts(name: str) -> tuple[str | None, tuple[str, ...]]:
    """A variant's docstring and KILLED_BY, read from its source (importing it needs tenacity)."""
    tree = ast.parse((Path(broken.__file__).parent / f"{name}.py").read_text())
    killed_by: tuple[str, ...] = ()
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "KILLED_BY" for t in node.targets
        ):
            killed_by = tuple(ast.literal_eval(node.value))
    return ast.get_docstring(tree), killed_by


def killing_pairs() -> list[tuple[str, str]]:
    pairs = []
    for name in VARIANTS:
        doc, killed_by = variant_facts(name)
        assert doc, f"{name} must say what regression it is"
        assert killed_by, f"{name} must name the checks that kill it"
        pairs += [(name, check) for check in killed_by]
    return pairs


def test_every_variant_names_known_checks() -> None:
    for name, check in killing_pairs():
        assert check in CHECKS, f"{name}: unknown check {check}"
    assert {name for name, _ in killing_pairs()} == set(VARIANTS)


@pytest.mark.parametrize(("variant", "check"), killing_pairs())
def test_variant_is_killed(variant: str, check: str, bench_factory: Callable[[str], Bench]) -> None:
    bench = bench_factory(f"ambient_runner.broken.{variant}")
    with pytest.raises(AssertionError):
        CHECKS[check](bench)


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_still_completes_a_plain_session(variant: str, bench_factory: Callable[[str], Bench]) -> None:
    """Each variant breaks one behaviour only: an untroubled session still succeeds."""
    check_completes(bench_factory(f"ambient_runner.broken.{variant}"))
