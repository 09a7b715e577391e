"""A scenario run that raises still leaves no token in its files, and its error names none.

The operator here is the reference operator behind a wrapper that prints every
token it can read into its own log (a leaky implementation); the run then
fails while collecting its evidence (an API server gone at the wrong moment),
so the bundle, whose writing used to be the only leak scan, is never written.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from longhaul.fixtures.cluster import Cluster
from longhaul.fixtures.engine import run as engine_run
from longhaul.fixtures.engine.launch import Implementations
from longhaul.fixtures.engine.run import run_scenario
from longhaul.scenarios.catalog import FAILS_FAST

pytestmark = pytest.mark.cluster

LEAKY_OPERATOR = """
import base64, subprocess, sys, time
from kubernetes import client, config

args = sys.argv[1:]
namespace, kubeconfig = args[args.index("--namespace") + 1], args[args.index("--kubeconfig") + 1]
operator = subprocess.Popen([sys.executable, "-m", "operator_stub", *args])
api = config.new_client_from_config(kubeconfig)
core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
while operator.poll() is None:
    try:  # as the operator's own least-privilege identity: get each session's Secret by name
        group = ("vteam.ambient-code", "v1alpha1", namespace, "agenticsessions")
        for item in custom.list_namespaced_custom_object(*group)["items"]:
            name = "ambient-runner-token-" + item["metadata"]["name"]
            secret = core.read_namespaced_secret(name, namespace)
            if "k8s-token" in (secret.data or {}):
                print("leaked", base64.b64decode(secret.data["k8s-token"]).decode(), flush=True)
    except Exception:
        pass
    time.sleep(0.5)
"""


def test_a_run_that_raises_is_scanned_and_redacted(
    cluster: Cluster, runner_image: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = tmp_path / "leaky_operator.py"
    script.write_text(LEAKY_OPERATOR)
    impl = Implementations(runner_image=runner_image, operator_cmd=shlex.join([sys.executable, str(script)]))

    def evidence_lost(*_: object) -> None:
        raise RuntimeError("collecting the evidence failed")

    monkeypatch.setattr(engine_run, "write_bundle", evidence_lost)
    scenario = FAILS_FAST[0]
    with pytest.raises(RuntimeError, match="collecting the evidence failed") as info:
        run_scenario(scenario, cluster, impl, tmp_path / "artifacts")
    workdir = tmp_path / "artifacts" / scenario.name
    operator_log = (workdir / "operator.log").read_text()
    notes = "\n".join(getattr(info.value, "__notes__", []))
    assert "leaked <token:" in operator_log, f"the leak was there and is redacted:\n{operator_log[-2000:]}"
    assert "leak scan (files redacted): token " in notes and "operator.log" in notes, notes
    for path in workdir.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert "leaked eyJ" not in text, f"{path} still holds a token"
    assert "eyJ" not in notes
