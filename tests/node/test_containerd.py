"""containerd per cluster: starts on its own socket, and stopping it leaves nothing.

The dangerous case is a container still running: shims outlive containerd
by design, so these tests start one first and show that both a clean stop
and the crash path (containerd SIGKILLed, then :func:`cleanup_stale`) remove
the container, its shim, its mounts and the shim's socket.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from longhaul.fixtures.cluster.local.containerd import K8S_NAMESPACE, Containerd
from longhaul.fixtures.cluster.local.containerd_cleanup import (
    ContainerdPaths,
    cleanup_stale,
    leftovers,
    shim_pids,
    shim_socket,
)
from longhaul.fixtures.cluster.local.containerd_config import render_config
from longhaul.fixtures.images.runner import NodeImages
from longhaul.fixtures.util.mounts import mounts_under
from longhaul.fixtures.util.procs import ComponentFailed, pid_alive
from longhaul.fixtures.util.waiting import wait_for

pytestmark = pytest.mark.node


@pytest.fixture
def fresh(images: NodeImages, tmp_path: Path) -> Iterator[Containerd]:
    ctd = Containerd(tmp_path / "ctd", sandbox_image=images.pause.ref)
    try:
        yield ctd
    finally:
        ctd.stop()


def _start_pause_container(ctd: Containerd, images: NodeImages) -> tuple[str, int]:
    """A detached long-running container; returns its id and the host pid of its process."""
    ctd.import_image(images.store, images.pause.image)
    name = f"pause-{uuid.uuid4().hex[:8]}"
    runc_root = str(ctd.paths.runc_root)
    ctd.ctr("run", "-d", "--runc-root", runc_root, "--cgroup", "", images.pause.ref, name)
    tasks = ctd.ctr("tasks", "ls").stdout.splitlines()[1:]
    pid = next(int(cols[1]) for cols in (t.split() for t in tasks) if cols[0] == name)
    return name, pid


def test_config_keeps_every_path_under_the_cluster_directory(tmp_path: Path) -> None:
    paths = ContainerdPaths(tmp_path)
    toml = render_config(paths, sandbox_image="longhaul.local/pause:x", snapshotter="overlayfs",
                         cni_bin_dir=Path("/usr/lib/cni"))  # fmt: skip
    for must in (
        f'address = "{tmp_path}/containerd.sock"',
        f'root = "{tmp_path}/root"',
        f'state = "{tmp_path}/state"',
        f'Root = "{tmp_path}/state/runc"',
        f'conf_dir = "{tmp_path}/cni/net.d"',
        'sandbox_image = "longhaul.local/pause:x"',
        "SystemdCgroup = false",
        "netns_mounts_under_state_dir = true",
        "restrict_oom_score_adj = true",
    ):
        assert must in toml
    assert "/var/lib/containerd" not in toml and "/run/containerd" not in toml


def test_own_socket_and_stop_removes_running_containers(fresh: Containerd, images: NodeImages) -> None:
    fresh.start()
    assert fresh.socket.is_socket()
    assert "Server:" in fresh.ctr("version", namespace=None).stdout
    name, pid = _start_pause_container(fresh, images)
    # What the stop must remove really exists: a live process, its shim, its rootfs mount.
    assert pid_alive(pid)
    assert [s for s in shim_pids(fresh.socket) if s[2] == name]
    assert mounts_under(fresh.paths.base)

    fresh.stop()

    assert not pid_alive(pid)
    assert leftovers(fresh.paths.base) == []


def test_cleanup_stale_after_containerd_was_killed(fresh: Containerd, images: NodeImages) -> None:
    fresh.start()
    name, pid = _start_pause_container(fresh, images)
    shims = [s for s in shim_pids(fresh.socket) if s[2] == name]
    assert shims and shim_socket(fresh.socket, K8S_NAMESPACE, name).exists()
    ctd_pid = fresh.process.pid
    assert ctd_pid is not None
    os.kill(ctd_pid, signal.SIGKILL)
    wait_for("containerd to die", fresh.process.running, lambda running: not running, timeout=10)
    assert pid_alive(pid) and pid_alive(shims[0][0])  # the crash left them behind

    actions = cleanup_stale(fresh.paths.base)

    assert any("shim" in a for a in actions), actions
    assert not pid_alive(pid)
    assert not shim_socket(fresh.socket, K8S_NAMESPACE, name).exists()
    assert leftovers(fresh.paths.base) == []


def test_start_fails_fast_with_the_log_when_containerd_cannot_run(images: NodeImages, tmp_path: Path) -> None:
    # A unix socket path longer than 108 bytes cannot be bound: containerd exits at start-up.
    ctd = Containerd(tmp_path / ("d" * 100), sandbox_image=images.pause.ref)
    try:
        with pytest.raises(ComponentFailed, match="containerd: exited with code") as failure:
            ctd.start(timeout=20)
        assert "last lines of" in str(failure.value)  # the error carries containerd's own log
    finally:
        ctd.stop()
    assert leftovers(ctd.paths.base) == []
