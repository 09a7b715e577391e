"""The backend stub as a process: its answers, its ledger, its faults, its restarts."""

from __future__ import annotations

import os
import signal
import socket
import urllib.error
import urllib.request

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from longhaul.contract import RunnerExit
from longhaul.fixtures.rigs.stub_bench import StubBench
from longhaul.fixtures.rigs.stub_processes import BackendProcess
from longhaul.fixtures.util.waiting import wait_for
from longhaul.ledger import Closed, Request, SessionLedger, TcpAccept, to_json
from longhaul.tokens import fingerprint
from longhaul.wire import Ack, Event, Hello, decode, encode

pytestmark = pytest.mark.component


def handshake(url: str, headers: dict[str, str] | None = None) -> int:
    """HTTP status of a WebSocket upgrade: 101 if accepted."""
    try:
        with connect(url, additional_headers=headers, proxy=None, open_timeout=10):
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


def test_handshake_answers_like_the_real_backend(stubs: StubBench) -> None:
    backend = stubs.backend()
    url = backend.url(stubs.namespace, stubs.session)
    good = stubs.mint()
    cases = {
        "bearer": (url, {"Authorization": f"Bearer {good}"}),
        "forwarded header": (url, {"X-Forwarded-Access-Token": good}),
        "query": (url + f"?token={good}", {}),
        "no token": (url, {}),
        "expired": (url, {"Authorization": f"Bearer {stubs.mint(lifetime=-5)}"}),
        "garbage": (url, {"Authorization": "Bearer not-a-token"}),
        "other namespace": (url, {"Authorization": f"Bearer {stubs.mint(namespace='elsewhere')}"}),
        "unknown path": (url.replace("/ws", "/nope"), {"Authorization": f"Bearer {good}"}),
    }
    observed = {name: handshake(u, h) for name, (u, h) in cases.items()}
    assert observed == {
        "bearer": 101,
        "forwarded header": 101,
        "query": 101,
        "no token": 401,
        "expired": 401,
        "garbage": 401,
        "other namespace": 403,
        "unknown path": 404,
    }
    ev = backend.evidence(stubs.session)
    assert [h.status for h in ev.handshakes] == [101, 101, 101, 401, 401, 401, 403]
    assert ev.handshakes[0].token_fp == fingerprint(good) and ev.handshakes[0].exp
    assert ev.handshakes[4].reason == "Token expired or invalid" and ev.handshakes[4].exp, (
        "claims of a rejected token"
    )


def test_events_are_acked_and_duplicates_are_recorded_as_such(stubs: StubBench) -> None:
    backend = stubs.backend()
    headers = {"Authorization": f"Bearer {stubs.mint()}"}
    url = backend.url(stubs.namespace, stubs.session)
    for _ in range(2):  # the second connection resends seq 2, as a reconnecting runner would
        with connect(url, additional_headers=headers, proxy=None, open_timeout=10) as ws:
            ws.send(encode(Hello(runner_id="r1")))
            for seq in (1, 2):
                ws.send(encode(Event(seq=seq, body="x")))
                assert decode(ws.recv(timeout=10)) == Ack(seq=seq)
    ev = backend.evidence(stubs.session)
    assert ev.delivered("r1") == [1, 2] and ev.duplicates("r1") == 2


def test_event_before_hello_is_a_protocol_violation(stubs: StubBench) -> None:
    backend = stubs.backend()
    headers = {"Authorization": f"Bearer {stubs.mint()}"}
    with connect(backend.url(stubs.namespace, stubs.session), additional_headers=headers, proxy=None) as ws:
        ws.send(encode(Event(seq=1, body="x")))
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=10)
    assert info.value.rcvd is not None and info.value.rcvd.code == 1008
    assert backend.evidence(stubs.session).deliveries == ()


@pytest.mark.parametrize(
    ("flag", "lifetime", "code"),
    [("--close-on-token-expiry", 2, 4001), ("--max-connection-age=1", 600, 4000)],
)
def test_connection_policies_close_with_their_codes(
    stubs: StubBench, flag: str, lifetime: float, code: int
) -> None:
    backend = stubs.backend(flag)
    headers = {"Authorization": f"Bearer {stubs.mint(lifetime=lifetime)}"}
    url = backend.url(stubs.namespace, stubs.session)
    with connect(url, additional_headers=headers, proxy=None) as ws, pytest.raises(ConnectionClosed) as info:
        ws.recv(timeout=15)
    assert info.value.rcvd is not None and info.value.rcvd.code == code
    wait_for(
        "the close in the ledger",
        lambda: [c.code for c in backend.evidence(stubs.session).closes],
        lambda codes: codes == [code],
        timeout=10,
    )


def test_exactly_once_across_a_backend_restart(stubs: StubBench) -> None:
    backend = stubs.backend()
    stubs.rotate()
    runner = stubs.runner(backend, {"BOT_TOKEN_PATH": str(stubs.token_path), "RUNNER_MESSAGES": "60"})
    wait_for(
        "some deliveries",
        lambda: len(backend.evidence(stubs.session).delivered(stubs.runner_id)),
        lambda n: n >= 10,
        timeout=20,
    )
    backend.restart()
    assert runner.wait_exit(timeout=30) == RunnerExit.OK
    ev = backend.evidence(stubs.session)
    assert ev.exactly_once(stubs.runner_id, 60), ev.describe()
    assert len(ev.accepted) >= 2 and ev.finishes[-1].last_seq == 60


def test_aborted_connection_is_recorded_as_1006_and_the_runner_carries_on(stubs: StubBench) -> None:
    backend = stubs.backend()
    stubs.rotate()
    runner = stubs.runner(backend, {"BOT_TOKEN_PATH": str(stubs.token_path), "RUNNER_MESSAGES": "40"})
    wait_for(
        "some deliveries",
        lambda: len(backend.evidence(stubs.session).delivered(stubs.runner_id)),
        lambda n: n >= 5,
        timeout=20,
    )
    assert backend.drop(stubs.session, abort=True) == 1
    assert runner.wait_exit(timeout=30) == RunnerExit.OK
    ev = backend.evidence(stubs.session)
    assert ev.closes[0].code == 1006 and ev.exactly_once(stubs.runner_id, 40), ev.describe()


def test_health_and_ledger_endpoints(stubs: StubBench) -> None:
    backend = stubs.backend()
    assert backend.http("/healthz") == "ok\n"
    handshake(backend.url(stubs.namespace, stubs.session), {"Authorization": f"Bearer {stubs.mint()}"})
    wait_for(
        "a closed connection",
        lambda: [r for r in backend.ledger().records if isinstance(r, Closed)],
        bool,
        timeout=10,
    )
    served = backend.http("/debug/ledger")
    # The file also holds the record of this very /debug/ledger request, written once it was answered.
    *before, last = SessionLedger.load(backend.ledger_path).records
    assert served == "".join(to_json(r) + "\n" for r in before)
    assert isinstance(last, Request) and (last.path, last.status) == ("/debug/ledger", 200)
    with pytest.raises(urllib.error.HTTPError) as info:
        backend.http("/api/projects/x/sessions/y/other")
    assert info.value.code == 404
    info.value.close()  # a lingering client would delay the backend's shutdown by its close timeout


def test_sigterm_stops_the_backend_promptly_despite_a_lingering_client(stubs: StubBench) -> None:
    """A client that keeps a rejected connection open must not hold up shutdown (pod grace period)."""
    backend: BackendProcess = stubs.backend()
    assert backend.process is not None and backend.process.pid is not None
    with socket.create_connection(("127.0.0.1", backend.port), timeout=5) as lingering:
        lingering.sendall(b"GET /api/projects/x/sessions/y/other HTTP/1.1\r\nHost: x\r\n\r\n")
        assert lingering.recv(64).startswith(b"HTTP/1.1 404")
        os.kill(backend.process.pid, signal.SIGTERM)
        code = wait_for("the backend to exit", backend.process.returncode, lambda c: c is not None, timeout=6)
    assert code == 0
    assert "event=stopping" in backend.log.read_text()


def _contacts_of(backend: BackendProcess, session: str, conns: int) -> list[tuple[str, int, str]]:
    """(path, status, reason) of the requests of ``conns`` connections, once each has its record."""
    ev = wait_for(
        f"{conns} connections with a request record",
        lambda: backend.evidence(session),
        lambda e: len(e.tcp_accepts) >= conns and len(e.requests) >= conns,
        timeout=10,
        describe=lambda e: e.contacts(),
    )
    assert {a.conn for a in ev.tcp_accepts} == {r.conn for r in ev.requests}, ev.contacts()
    return [(r.path, r.status, r.reason) for r in ev.requests]


def test_every_accept_and_request_is_recorded_even_without_a_handshake(stubs: StubBench) -> None:
    """A runner dialing a wrong path, speaking TLS to the plain port, or saying nothing leaves a trace."""
    backend = stubs.backend()
    good = stubs.mint()
    wrong = backend.url(stubs.namespace, stubs.session).replace("/ws", "/socket") + f"?token={good}"
    assert handshake(wrong, {}) == 404
    with socket.create_connection(("127.0.0.1", backend.port), timeout=5) as tls:
        tls.sendall(bytes.fromhex("16030100a5010000a10303") + os.urandom(32))  # a TLS ClientHello's start
        tls.shutdown(socket.SHUT_WR)
        tls.recv(64)  # the backend closes: no HTTP request came
    with socket.create_connection(("127.0.0.1", backend.port), timeout=5):
        pass  # connects, says nothing, leaves
    found = _contacts_of(backend, stubs.session, conns=3)
    assert found[0] == (f"/api/projects/{stubs.namespace}/sessions/{stubs.session}/socket", 404, "Not Found")
    assert [status for _, status, _ in found[1:]] == [0, 0]
    assert "no HTTP request" in found[1][2], found
    ev = backend.evidence(stubs.session)
    assert ev.handshakes == () and ev.contacted
    assert all(a.peer.startswith("127.0.0.1:") for a in ev.tcp_accepts)
    assert good not in backend.ledger_path.read_text(), "a request's query string never reaches the ledger"
    assert fingerprint(good) not in backend.ledger_path.read_text()


def test_a_session_handshake_also_leaves_its_accept_and_request(stubs: StubBench) -> None:
    backend = stubs.backend()
    assert handshake(backend.url(stubs.namespace, stubs.session), {}) == 401
    found = _contacts_of(backend, stubs.session, conns=1)
    assert found == [(f"/api/projects/{stubs.namespace}/sessions/{stubs.session}/ws", 401, "Unauthorized")]
    assert [h.status for h in backend.evidence(stubs.session).handshakes] == [401]
    assert isinstance(backend.ledger().records[0], TcpAccept)


def test_debug_endpoints_need_the_secret_which_is_never_logged(stubs: StubBench) -> None:
    secret = "s3cret-" + os.urandom(8).hex()
    secret_file = stubs.root / "debug-secret"
    secret_file.write_text(secret + "\n")
    backend = stubs.backend("--debug-secret-file", str(secret_file))
    assert backend.http("/healthz") == "ok\n"  # health stays open: kubelet probes carry no secret
    for path, method in (("/debug/ledger", "GET"), ("/debug/drop", "POST")):
        for headers in ({}, {"X-Longhaul-Debug": "wrong"}, {"X-Longhaul-Debug": secret[:-1]}):
            with pytest.raises(urllib.error.HTTPError) as info:
                backend.http(path, method, headers)
            assert info.value.code == 403, (path, headers)
            info.value.close()
    good = {"X-Longhaul-Debug": secret}
    assert backend.http("/debug/drop", "POST", good) == "dropped 0\n"
    assert "/debug/drop" in backend.http("/debug/ledger", headers=good)
    backend.stop()
    log = backend.log.read_text()
    assert "debug_guarded=true" in log.lower() or "debug_guarded=True" in log, log
    assert secret not in log and secret not in backend.ledger_path.read_text()


def test_an_opaque_protocol_is_recorded_frame_by_frame_never_parsed(stubs: StubBench) -> None:
    """A runner speaking its own JSON protocol: no 1008 for a non-wire message, no acks, frames recorded
    (sizes only); a declared health path answers 200 and is no contact."""
    backend = stubs.backend("--protocol", "opaque", "--health-path", "/health")
    url = backend.url(stubs.namespace, stubs.session)
    health = url.split("/api/")[0].replace("ws://", "http://") + "/health"
    with urllib.request.urlopen(health, timeout=10) as answer:
        assert answer.status == 200
    assert not backend.evidence(stubs.session).contacted
    headers = {"Authorization": f"Bearer {stubs.mint()}"}
    with connect(url, additional_headers=headers, proxy=None, open_timeout=10) as ws:
        ws.send('{"type":"agent.start","session":"s"}')
        ws.send('{"type":"agent.step","step":1,"text":"hello"}')
        ws.send(b"\x00\x01")
        with pytest.raises(TimeoutError):
            ws.recv(timeout=1)  # nothing comes back: no acks, no close
    ev = wait_for(
        "three frames recorded",
        lambda: backend.evidence(stubs.session),
        lambda e: len(e.frames) == 3 and bool(e.closes),
        timeout=10,
    )
    assert [(f.size, f.binary) for f in ev.frames] == [(36, False), (45, False), (2, True)]
    assert ev.closes[-1].code == 1000 and not ev.deliveries and not ev.finishes
