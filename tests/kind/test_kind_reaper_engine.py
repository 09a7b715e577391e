"""The kind reaper deletes a crashed run's cluster and leaves kept, live and foreign ones alone.

Real parts: the real engine (longhaul's dockerd here), the real kind binary
listing and deleting clusters.  The "clusters" are single node containers
labelled as kind labels its nodes (``io.x-k8s.kind.cluster``), which is all
``kind get clusters`` and ``kind delete cluster`` look at: a booted node would
add a minute of CPU on a shared machine and prove nothing more about the reaper.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from longhaul.fixtures.cluster.kind import dockerd
from longhaul.fixtures.cluster.kind.binary import find_kind
from longhaul.fixtures.cluster.kind.engine import engine_name, ensure_engine, own_engine_possible
from longhaul.fixtures.cluster.kind.provider import KindProvider
from longhaul.fixtures.cluster.kind.reaper import kept_marker
from longhaul.fixtures.util.cache import cache_root

pytestmark = [pytest.mark.kind, pytest.mark.cluster]
LABEL = "io.x-k8s.kind.cluster"


def _dead_pid() -> int:
    gone = subprocess.Popen(["true"])
    gone.wait()
    return gone.pid


def _node_names() -> set[str]:
    out = subprocess.run(
        [engine_name(), "ps", "-a", "--filter", f"label={LABEL}", "--format", "{{.Names}}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(out.stdout.split())


def _image_with_sleep() -> str | None:
    """The first local image that can run ``sleep``: the engine may also hold minimal images
    (the pause image is a single binary), and which one is newest varies."""
    images = subprocess.run(
        [engine_name(), "image", "ls", "-q"], capture_output=True, text=True
    ).stdout.split()
    for image in dict.fromkeys(images):
        argv = [engine_name(), "run", "--rm", "--entrypoint", "sleep", image, "0"]
        probe = subprocess.run(argv, capture_output=True, timeout=60)
        if probe.returncode == 0:
            return image
    return None


@pytest.fixture()
def fake_clusters() -> Iterator[dict[str, str]]:
    if find_kind(None, build=False) is None:
        pytest.skip("no kind binary")
    try:
        own = ensure_engine()
    except RuntimeError as exc:
        pytest.skip(f"no container engine: {exc} ({own_engine_possible()})")
    image = _image_with_sleep()
    if image is None:
        pytest.skip("no image in the engine has a `sleep` to make a stand-in node from")
    names = {
        "stale": f"lh-{_dead_pid()}",
        "stale-private": f"lh-{_dead_pid()}-iso-{_dead_pid()}",
        "kept": f"lh-{_dead_pid()}",
        "alive": f"lh-{os.getpid()}",
        "foreign": "lh-reaper-test-named",
    }
    for role, name in names.items():
        if role != "foreign":
            (cache_root() / "kind" / name).mkdir(parents=True, exist_ok=True)
        argv = [engine_name(), "run", "-d", "--name", f"{name}-control-plane", "--label", f"{LABEL}={name}"]
        subprocess.run([*argv, "--entrypoint", "sleep", image, "600"], capture_output=True, check=True)
    kept_marker(names["kept"]).write_text("kept\n")
    try:
        yield names
    finally:
        for name in names.values():
            subprocess.run([engine_name(), "rm", "-f", f"{name}-control-plane"], capture_output=True)
            shutil.rmtree(cache_root() / "kind" / name, ignore_errors=True)
        if own and not _node_names():
            dockerd.stop()


def test_only_the_crashed_runs_clusters_are_reaped(fake_clusters: dict[str, str]) -> None:
    reaped = KindProvider().reap()
    assert sorted(reaped) == sorted([fake_clusters["stale"], fake_clusters["stale-private"]]), reaped
    left = _node_names()
    assert f"{fake_clusters['stale']}-control-plane" not in left
    for role in ("kept", "alive", "foreign"):
        assert f"{fake_clusters[role]}-control-plane" in left, role
