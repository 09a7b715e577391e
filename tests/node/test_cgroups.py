"""A cluster's cgroup tree goes away whole, even with a process still in it."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from longhaul.fixtures.cluster.local.cgroups import (
    CGROUP_FS,
    cgroup_dirs,
    cgroup_root,
    remove_cgroup_tree,
    remove_cluster_cgroups,
)
from longhaul.fixtures.util.procs import pid_alive

pytestmark = pytest.mark.node


def test_remove_cgroup_tree_kills_members_and_removes_every_hierarchy() -> None:
    cluster = f"test-{uuid.uuid4().hex[:8]}"
    root = cgroup_root(cluster)
    leaf = f"{root}/kubepods/besteffort/pod1"
    for controller in ("memory", "pids", "unified"):
        (CGROUP_FS / controller / leaf.strip("/")).mkdir(parents=True)
    sleeper = subprocess.Popen(["sleep", "300"])
    try:
        (CGROUP_FS / "memory" / leaf.strip("/") / "cgroup.procs").write_text(str(sleeper.pid))
        assert len(cgroup_dirs(root)) == 3 * 4

        actions = remove_cluster_cgroups(cluster)

        sleeper.wait(timeout=10)
        assert not pid_alive(sleeper.pid)
        assert cgroup_dirs(root) == [], actions
    finally:
        sleeper.kill()
        remove_cluster_cgroups(cluster)
    with pytest.raises(ValueError):
        remove_cgroup_tree("/")


def test_shared_parent_goes_only_with_the_last_cluster(tmp_path: Path) -> None:
    # Plain directories stand in for two hierarchies: only the rmdir logic is under test.
    for hierarchy in ("memory", "unified"):
        for cluster in ("a", "b"):
            (tmp_path / hierarchy / cgroup_root(cluster).strip("/")).mkdir(parents=True)
    remove_cluster_cgroups("a", fs=tmp_path)
    assert sorted(p.name for p in (tmp_path / "memory" / "longhaul").iterdir()) == ["b"]
    remove_cluster_cgroups("b", fs=tmp_path)
    assert (
        not (tmp_path / "memory" / "longhaul").exists() and not (tmp_path / "unified" / "longhaul").exists()
    )
