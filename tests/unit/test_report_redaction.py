"""Token values never reach pytest's terminal output or JUnit XML, with or without xdist.

A real pytest run in a subprocess (the checkout's conftest loads the plugin),
whose tests fail with a known token value and a JWT-shaped one in assertion
text, exception text, captured output and a skip reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from longhaul.fixtures.util.procs import ComponentFailed
from longhaul.tokens import fingerprint

REPO = Path(__file__).resolve().parents[2]
# Built at run time in the inner tests too, so no source line of a traceback spells a value out.
OPAQUE = "opaque-token-" + "q7" * 12
JWT = "eyJ" + "h" * 20 + ".eyJ" + "c" * 20 + "." + "s" * 30

INNER = """
import pytest
from longhaul.fixtures.util import known_tokens

OPAQUE = "opaque-token-" + "q7" * 12
JWT = "eyJ" + "h" * 20 + ".eyJ" + "c" * 20 + "." + "s" * 30


def test_known_value_in_an_assertion():
    known_tokens.remember(OPAQUE)  # what a scenario's token watch does
    print("captured", OPAQUE)
    assert OPAQUE == ""


def test_jwt_shaped_text_in_an_exception():
    print("captured", JWT)
    raise RuntimeError("rejected " + JWT)


def test_jwt_shaped_text_in_a_skip_reason():
    pytest.skip("skipped because of " + JWT)
"""


@pytest.mark.parametrize("mode", [["-p", "no:xdist"], ["-n", "2"]], ids=["in-process", "xdist"])
def test_reports_carry_fingerprints_never_tokens(tmp_path: Path, mode: list[str]) -> None:
    shutil.copy(REPO / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_leaky.py").write_text(INNER)
    junit = tmp_path / "junit.xml"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "--junitxml", str(junit), *mode],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    terminal = run.stdout + run.stderr
    assert "2 failed, 1 skipped" in terminal, terminal[-3000:]
    xml = junit.read_text()
    for where, text in (("terminal", terminal), ("JUnit XML", xml)):
        assert OPAQUE not in text, f"the known token reached the {where}"
        assert JWT not in text and JWT.rsplit(".", 1)[1] not in text, f"JWT-shaped text reached the {where}"
        assert f"<token:{fingerprint(OPAQUE)}>" in text or f"&lt;token:{fingerprint(OPAQUE)}&gt;" in text
        assert fingerprint(JWT) in text, f"the {where} names the JWT by its fingerprint"


def test_component_failed_quotes_a_redacted_log_tail(tmp_path: Path) -> None:
    from longhaul.fixtures.util import known_tokens

    opaque = "opaque-component-" + "z9" * 10
    known_tokens.remember(opaque)
    log = tmp_path / "backend.log"
    log.write_text(f"starting\nusing token {opaque}\nheader Authorization: Bearer {JWT}\nboom\n")
    message = str(ComponentFailed("backend", "exited with code 3", log))
    assert opaque not in message and JWT not in message
    assert f"<token:{fingerprint(opaque)}>" in message and f"<token:{fingerprint(JWT)}>" in message
    assert "boom" in message and "exited with code 3" in message, "the tail is still there, redacted"
