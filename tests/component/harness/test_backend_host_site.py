"""``--backend-site host``: the backend beside the harness, on the pod-facing address only, /debug/* guarded.

A real backend stub process, started and stopped by the site as a scenario's
platform does; 127.0.0.1 stands in for the cluster's host address.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from longhaul.fixtures.engine.backend_site import HostSite
from longhaul.fixtures.engine.launch import STUB_BACKEND_CMD
from longhaul.fixtures.rigs.token_issuer import TokenIssuer
from longhaul.fixtures.util.procs import ComponentFailed
from longhaul.ledger import Request, SessionLedger

pytestmark = pytest.mark.component


def _site(tmp_path: Path, address: str = "127.0.0.1") -> HostSite:
    key = TokenIssuer().write_public_key(tmp_path / "issuer.pub")
    return HostSite(
        STUB_BACKEND_CMD, address, tmp_path, lambda: ["--auth", "jwt", "--jwt-public-key", str(key)], []
    )


def _post(url: str) -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(urllib.request.Request(url, data=b"", method="POST"), timeout=5) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code


def test_the_host_backend_listens_on_the_given_address_only_and_guards_debug(tmp_path: Path) -> None:
    site = _site(tmp_path)
    site.start()
    try:
        assert site.url == f"http://127.0.0.1:{site.port}"
        bound = [
            line for line in (tmp_path / "backend.log").read_text().splitlines() if "event=listening" in line
        ]
        assert bound and "host=127.0.0.1" in bound[0] and "debug_guarded=True" in bound[0], bound
        assert _post(f"{site.url}/debug/drop?session=s") == 403  # no secret: refused
        site.drop("s")  # the site's own call carries it
        site.restart(0.2)
        assert site.url == f"http://127.0.0.1:{site.port}"  # same port after a restart
        paths = [
            (r.path, r.status)
            for r in SessionLedger.load(site.ledger_file()).records
            if isinstance(r, Request)
        ]
        assert paths == [("/debug/drop", 403), ("/debug/drop", 200)], paths
    finally:
        site.stop()
    secret_dir = Path(site._secret_dir.name)
    assert not secret_dir.exists(), "the secret file goes with the backend"
    assert site._secret not in (tmp_path / "backend.log").read_text()
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and site._secret.encode() in p.read_bytes()]


def test_an_address_that_is_not_this_machines_fails_the_start_with_the_backends_log(tmp_path: Path) -> None:
    site = _site(tmp_path, "192.0.2.1")  # TEST-NET-1: never an address of this machine
    with pytest.raises(ComponentFailed):
        site.start()
    site.stop()


def test_no_host_address_says_which_option_to_set(tmp_path: Path) -> None:
    with pytest.raises(ComponentFailed, match="--host-address"):
        _site(tmp_path, "")
