"""The whole fast tier through ``--cluster existing``, on a kubeconfig shaped like the ones users have.

Why: every other run hands the harness a kubeconfig longhaul wrote itself.
Here the session's cluster is described the way kind describes a cluster (CA,
client certificate and key inline as ``*-data``) in a file with two contexts:
a decoy first and current, the target neither.  A pytest run in a subprocess
then runs the fast tier with ``--kube-context`` naming the target, and must
pass every scenario it can judge, while the decoy's server, a listener that
counts what dials it, must never see a single connection.

The backend site is ``cluster`` (a Deployment + Service in each namespace,
reached through the API server): a user's cluster cannot be assumed to reach
this machine.  ``LONGHAUL_EXISTING_BACKEND_SITE=host`` checks the other site.
"""

from __future__ import annotations

import base64
import os
import shutil
import socket
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from longhaul.fixtures.cluster import Cluster, ImageLoader
from longhaul.fixtures.images.backend import build_backend_image
from longhaul.fixtures.images.runner import build_runner_image

pytestmark = pytest.mark.cluster
REPO = Path(__file__).resolve().parents[2]
TARGET = "lh-target"
FAST_TIER_TIMEOUT = 1800  # seconds: the fast tier on a loaded 2-core machine takes 5-10 min


def _data(entry: dict[str, Any], key: str, base: Path) -> dict[str, Any]:
    """``key`` (a file reference) replaced by ``key-data`` (the file's bytes, base64), as kind writes it."""
    out = dict(entry)
    if out.get(key):
        path = Path(out.pop(key))
        out[f"{key}-data"] = base64.b64encode(
            (path if path.is_absolute() else base / path).read_bytes()
        ).decode()
    return out


def kind_style(source: Path, decoy_server: str) -> dict[str, Any]:
    """``source``'s current context, credentials inline, as context ``TARGET`` behind a current decoy."""
    cfg = yaml.safe_load(source.read_text())
    ctx = next(c["context"] for c in cfg["contexts"] if c["name"] == cfg["current-context"])
    cluster = next(c["cluster"] for c in cfg["clusters"] if c["name"] == ctx["cluster"])
    user = next(u["user"] for u in cfg["users"] if u["name"] == ctx["user"])
    base = source.parent
    cluster = _data(cluster, "certificate-authority", base)
    user = _data(_data(user, "client-certificate", base), "client-key", base)
    assert "certificate-authority-data" in cluster and "client-key-data" in user, "the copy must be inline"
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "preferences": {},
        "current-context": "decoy",
        "clusters": [
            {"name": "decoy", "cluster": {**cluster, "server": decoy_server}},
            {"name": TARGET, "cluster": cluster},
        ],
        "users": [{"name": "decoy", "user": user}, {"name": TARGET, "user": user}],
        "contexts": [
            {"name": "decoy", "context": {"cluster": "decoy", "user": "decoy"}},
            {"name": TARGET, "context": {"cluster": TARGET, "user": TARGET}},
        ],
    }


class DialCounter:
    """A TCP listener that closes every connection at once and remembers that it came."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.dials: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                conn, peer = self.sock.accept()
            except OSError:
                return
            self.dials.append(f"{peer[0]}:{peer[1]}")
            conn.close()


@pytest.fixture
def decoy() -> Iterator[DialCounter]:
    counter = DialCounter()
    yield counter
    counter.sock.close()


def _backend_site() -> str:
    return os.environ.get("LONGHAUL_EXISTING_BACKEND_SITE") or "cluster"


def _junit_cases(path: Path) -> dict[str, tuple[str, str]]:
    """Each test case's outcome (``passed``, ``failure``, ``error``, ``skipped: <reason>``) and, for a
    failure or error, the first lines of its message: what a person reads first."""
    cases = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        found = [child for child in case if child.tag in ("failure", "error", "skipped")]
        outcome, message = "passed", ""
        if found:
            child = found[0]
            text = (child.get("message") or child.text or "").strip()
            outcome = f"skipped: {text}" if child.tag == "skipped" else child.tag
            message = "" if child.tag == "skipped" else "\n  ".join(text.splitlines()[:12])
        cases[case.get("name", "?")] = (outcome, message)
    return cases


def _failures(cases: dict[str, tuple[str, str]]) -> str:
    lines = [f"{o.upper()} {name}:\n  {m}" for name, (o, m) in cases.items() if o in ("failure", "error")]
    return "\n".join(lines) or "no failed case in the JUnit report"


def _keep_artifacts(inner: Path, config: pytest.Config) -> Path:
    """The inner run's artifacts copied under the outer run's, so CI uploads the evidence of a failure."""
    root = Path(str(config.getoption("--artifacts-dir", "longhaul-artifacts"))).resolve()
    outer = root / "existing-cluster"
    if inner.is_dir():
        shutil.rmtree(outer, ignore_errors=True)
        shutil.copytree(inner, outer, symlinks=True)
        return outer
    return inner


@pytest.mark.timeout(FAST_TIER_TIMEOUT + 120)
def test_the_fast_tier_passes_on_an_existing_cluster_named_by_a_non_current_context(
    cluster: Cluster, decoy: DialCounter, tmp_path: Path, pytestconfig: pytest.Config
) -> None:
    if not isinstance(cluster, ImageLoader):
        pytest.skip(f"the {cluster.provider} provider cannot load the runner image")
    kubeconfig = tmp_path / "kind-style.kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(kind_style(cluster.kubeconfig, decoy.url), sort_keys=False))
    # The existing provider loads no images: put them on the node first, pass them by reference.
    runner = build_runner_image()
    cluster.load_image(runner)
    site = _backend_site()
    args = ["--backend-site", site, "--runner-image", runner.ref]
    if site == "cluster":
        backend = build_backend_image()
        cluster.load_image(backend)
        args += ["--backend-image", backend.ref]
    else:
        args += ["--host-address", cluster.host_address]
    junit = tmp_path / "junit.xml"
    kept = (
        "LONGHAUL_CACHE",
        "LONGHAUL_E2E_WORKERS",
        "LONGHAUL_PROGRESS",
    )  # no outer cluster, context or site setting
    env = {k: v for k, v in os.environ.items() if k in kept or not k.startswith(("LONGHAUL_", "KUBECONFIG"))}
    env.update(PYTHONPATH=str(REPO), LONGHAUL_PROGRESS="1")
    # LONGHAUL_EXISTING_SELECT: a -k expression, to check the wiring on a few scenarios only.
    select = (
        ["-k", os.environ["LONGHAUL_EXISTING_SELECT"]] if os.environ.get("LONGHAUL_EXISTING_SELECT") else []
    )
    argv = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "e2e", *select,
        "-m", "e2e and not soak", "-n", os.environ.get("LONGHAUL_E2E_WORKERS", "14"), "--dist", "worksteal",
        "--cluster", "existing", "--kubeconfig", str(kubeconfig), "--kube-context", TARGET,
        "--junitxml", str(junit), "--artifacts-dir", str(tmp_path / "artifacts"), *args,
    ]  # fmt: skip
    run = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=FAST_TIER_TIMEOUT)
    tail = (run.stdout + run.stderr)[-6000:]
    cases = _junit_cases(junit) if junit.exists() else {}
    outcomes = {name: outcome for name, (outcome, _) in cases.items()}
    judged = {name: o for name, o in outcomes.items() if not o.startswith("skipped")}
    if run.returncode != 0 or not judged or any(o != "passed" for o in judged.values()):
        kept_at = _keep_artifacts(tmp_path / "artifacts", pytestconfig)
        why = _failures(cases) if junit.exists() else "no JUnit report"
        pytest.fail(
            f"the inner run exited {run.returncode}; its artifacts: {kept_at}\n{why}\n"
            f"--- its output's tail:\n{tail}"
        )
    # Only what an existing cluster cannot do may be skipped (restarting its control plane).
    skipped = {name: o for name, o in outcomes.items() if o.startswith("skipped")}
    assert all("restart" in o for o in skipped.values()), skipped
    assert select or len(judged) >= 20, f"the whole fast tier, not {sorted(judged)}"
    assert not decoy.dials, f"the decoy context's server was dialled: {decoy.dials}"
    print(
        f"existing cluster, context {TARGET}, backend site {site}: "
        f"{len(judged)} passed, {len(skipped)} skipped"
    )
