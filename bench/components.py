"""Benchmarks of the runner and backend stubs as local processes: ``python -m bench.components``.

What the figures are for: a scenario's timings (connection age, refresh
interval, give-up time) must leave room for the components' own latencies,
and a regression in them (a slow token check, a runner that backs off too
long) should show up as a number before it shows up as a flaky e2e test.

Measured, each over real processes and sockets on this machine:

* handshake_accept_ms / handshake_reject_ms: one WebSocket upgrade with a JWT
  the backend accepts / rejects (401), client-side wall time;
* runner_first_connect_s: runner process spawn to the backend's first
  accepted handshake (Python start-up, token read, connect);
* runner_fail_fast_s: spawn to exit 66 with ``BOT_TOKEN_PATH`` missing;
* rotation_pickup_s: token rotated and connection dropped, to the backend's
  accepted handshake with the new token (excludes kubelet propagation);
* throughput_events_per_s: acked events per second over one connection.

Prints a Markdown table; ``--json FILE`` also writes the figures.  Exits 1 if a
token appears in any log the run produced.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from bench._util import Figures, markdown, summarize, timed, write_json
from longhaul.contract import RunnerExit
from longhaul.fixtures.rigs.stub_bench import StubBench
from longhaul.fixtures.rigs.stub_processes import BackendProcess
from longhaul.fixtures.util.waiting import wait_for
from longhaul.tokens import fingerprint


def handshake(url: str, token: str) -> int:
    try:
        with connect(
            url, additional_headers={"Authorization": f"Bearer {token}"}, proxy=None, open_timeout=10
        ):
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


def bench_handshakes(bench: StubBench, backend: BackendProcess, n: int) -> Figures:
    url = backend.url(bench.namespace, bench.session)
    good, expired = bench.mint(), bench.mint(lifetime=-5)
    accept = [timed(lambda: handshake(url, good)) * 1000 for _ in range(n)]
    reject = [timed(lambda: handshake(url, expired)) * 1000 for _ in range(n)]
    statuses = {h.status for h in backend.evidence(bench.session).handshakes}
    assert statuses == {101, 401}, statuses
    return {"handshake_accept_ms": summarize(accept), "handshake_reject_ms": summarize(reject)}


def bench_runner_lifecycle(bench: StubBench, backend: BackendProcess, n: int) -> Figures:
    first_connect: list[float] = []
    fail_fast: list[float] = []
    for i in range(n):
        token = bench.rotate()
        start = time.time()
        runner = bench.runner(backend, {"BOT_TOKEN_PATH": str(bench.token_path)}, name=f"start-{i}")
        first_connect.append(backend.wait_accepted(bench.session, fingerprint(token), timeout=30).t - start)
        runner.stop()
        start = time.monotonic()
        missing = bench.root / "no-such-token"
        failing = bench.runner(backend, {"BOT_TOKEN_PATH": str(missing)}, name=f"failfast-{i}")
        assert failing.wait_exit(timeout=30) == RunnerExit.TOKEN_FILE_UNUSABLE
        fail_fast.append(time.monotonic() - start)
    return {"runner_first_connect_s": summarize(first_connect), "runner_fail_fast_s": summarize(fail_fast)}


def bench_rotation_pickup(bench: StubBench, backend: BackendProcess, n: int) -> Figures:
    bench.rotate()
    runner = bench.runner(backend, {"BOT_TOKEN_PATH": str(bench.token_path)}, name="rotating")
    wait_for("runner connected", lambda: len(backend.evidence(bench.session).accepted), bool, timeout=30)
    samples: list[float] = []
    for _ in range(n):
        token = bench.rotate()
        start = time.time()
        backend.drop(bench.session)
        samples.append(backend.wait_accepted(bench.session, fingerprint(token), timeout=30).t - start)
    runner.stop()
    return {"rotation_pickup_s": summarize(samples)}


def bench_throughput(bench: StubBench, backend: BackendProcess, events: int) -> Figures:
    bench.rotate()
    env = {
        "BOT_TOKEN_PATH": str(bench.token_path),
        "RUNNER_MESSAGES": str(events),
        "RUNNER_MESSAGE_INTERVAL": "0",
    }
    runner = bench.runner(backend, env, name="throughput")
    assert runner.wait_exit(timeout=120) == RunnerExit.OK
    ev = backend.evidence(bench.session)
    mine = [d for d in ev.deliveries if d.runner_id == bench.runner_id and d.seq <= events]
    assert ev.exactly_once(bench.runner_id, events), ev.describe()
    span = max(d.t for d in mine) - min(d.t for d in mine)
    rate = (len(mine) - 1) / span if span > 0 else float("inf")
    return {"throughput_events_per_s": {"n": float(events), "p50": rate, "p95": rate, "max": rate}}


def run(quick: bool) -> Figures:
    n = 5 if quick else 20
    figures: Figures = {}
    with tempfile.TemporaryDirectory(prefix="longhaul-bench-") as tmp, ExitStack() as stack:
        measures: list[tuple[str, Callable[[StubBench, BackendProcess], Figures]]] = [
            ("handshakes", lambda b, be: bench_handshakes(b, be, n * 5)),
            ("lifecycle", lambda b, be: bench_runner_lifecycle(b, be, max(3, n // 4))),
            ("rotation", lambda b, be: bench_rotation_pickup(b, be, n)),
            ("throughput", lambda b, be: bench_throughput(b, be, 500 if quick else 3000)),
        ]
        # One bench per measurement, so each has its own session in the ledger.
        for session, measure in measures:
            bench = StubBench(Path(tmp) / session, stack, session=session, runner_id=f"bench-{session}")
            backend = bench.backend()
            figures.update(measure(bench, backend))
            leaks = bench.leaks()
            if leaks:
                raise SystemExit("token leaked: " + "; ".join(map(str, leaks)))
    return figures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="bench.components", description=__doc__.split("\n\n")[0] if __doc__ else ""
    )
    p.add_argument("--quick", action="store_true", help="fewer samples (a smoke run)")
    p.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = p.parse_args(argv)
    started = time.monotonic()
    figures = run(args.quick)
    print(markdown(figures))
    print(f"\n(total {time.monotonic() - started:.1f}s)")
    if args.json:
        write_json(args.json, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
