"""What longhaul's own Docker engine adapts to the host: the capability-dropping runtime, rule ownership."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from longhaul.fixtures.cluster import ProviderUnavailable
from longhaul.fixtures.cluster.kind import capdrop, dockerd, hostnet
from longhaul.fixtures.cluster.kind.engine import own_engine_applies
from longhaul.fixtures.cluster.kind.nodeimage import node_image_mode
from longhaul.fixtures.images.kindnode.components import repository, sandbox_refs


def _status(tmp_path: Path, capbnd: str) -> Path:
    path = tmp_path / "status"
    path.write_text(f"Name:\tx\nCapInh:\t0000000000000000\nCapBnd:\t{capbnd}\n")
    return path


def test_a_full_bounding_set_needs_no_runtime_wrapper(tmp_path: Path) -> None:
    assert capdrop.missing_capabilities(_status(tmp_path, "000001ffffffffff")) == []


def test_this_vms_bounding_set_lacks_only_sys_resource(tmp_path: Path) -> None:
    assert capdrop.missing_capabilities(_status(tmp_path, "000001fffeffffff")) == ["CAP_SYS_RESOURCE"]


def _spec(caps: list[str]) -> dict[str, object]:
    sets = {k: list(caps) for k in ("bounding", "effective", "permitted", "inheritable", "ambient")}
    return {"process": {"args": ["/pause"], "capabilities": sets}}


def test_the_wrapper_strips_the_missing_capability_from_a_bundle_and_then_runs_runc(tmp_path: Path) -> None:
    fake_runc = tmp_path / "runc"
    fake_runc.write_text(f'#!/bin/sh\necho "$@" > {tmp_path / "argv"}\n')
    fake_runc.chmod(0o755)
    wrapper = capdrop.write_wrapper(tmp_path / "w", ["CAP_SYS_RESOURCE"], str(fake_runc), sys.executable)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "config.json").write_text(json.dumps(_spec(["CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_SYS_ADMIN"])))
    process = tmp_path / "process.json"
    process.write_text(json.dumps(_spec(["CAP_SYS_RESOURCE", "CAP_KILL"])["process"]))

    subprocess.run([str(wrapper), "--root", "/x", "create", "--bundle", str(bundle), "id1"], check=True)
    caps = json.loads((bundle / "config.json").read_text())["process"]["capabilities"]
    assert all(v == ["CAP_CHOWN", "CAP_SYS_ADMIN"] for v in caps.values())
    assert (tmp_path / "argv").read_text().split() == [
        "--root",
        "/x",
        "create",
        "--bundle",
        str(bundle),
        "id1",
    ]

    subprocess.run([str(wrapper), "exec", "--process", str(process), "id1"], check=True)
    assert all(v == ["CAP_KILL"] for v in json.loads(process.read_text())["capabilities"].values())


@pytest.mark.parametrize(
    "rule,ours",
    [
        ("-j DOCKER-USER", True),
        ("-o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", True),
        ("-s 198.19.250.0/24 ! -o docker0 -j MASQUERADE", True),
        ("-s 198.19.251.0/24 ! -o br-1234 -j MASQUERADE", True),
        ("-m addrtype --dst-type LOCAL -j DOCKER", True),
        ("-j KUBE-FIREWALL", False),
        ("-s 198.18.3.0/24 -j CNI-abc", False),
        ("-s 198.19.0.0/16 -j MASQUERADE", False),  # wider than ours: someone else's
    ],
)
def test_only_rules_naming_our_chains_bridges_or_range_are_ours(rule: str, ours: bool) -> None:
    assert hostnet._mentions_ours(rule, ["docker0"]) is ours


def test_sandbox_names_come_from_kinds_containerd_config() -> None:
    config = '[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "registry.k8s.io/pause:3.10"\n'
    assert sandbox_refs(config) == ("registry.k8s.io/pause:3.10",)
    assert repository("registry.k8s.io/coredns/coredns:v1.12.1") == "coredns"


def test_the_node_image_is_offline_with_our_engine_and_pinned_with_yours(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LONGHAUL_KIND_NODE_IMAGE", raising=False)
    assert node_image_mode(own_engine=True) == "offline"
    assert node_image_mode(own_engine=False) == "pinned"
    monkeypatch.setenv("LONGHAUL_KIND_NODE_IMAGE", "pinned")
    assert node_image_mode(own_engine=True) == "pinned"
    monkeypatch.setenv("LONGHAUL_KIND_NODE_IMAGE", "latest")
    with pytest.raises(ProviderUnavailable, match="pinned, offline"):
        node_image_mode(own_engine=True)


def test_a_docker_host_of_your_own_means_longhaul_starts_no_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KIND_EXPERIMENTAL_PROVIDER", raising=False)
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:2375")
    assert not own_engine_applies()
    monkeypatch.setenv("DOCKER_HOST", dockerd.DOCKER_HOST)
    assert own_engine_applies()
    monkeypatch.setenv("KIND_EXPERIMENTAL_PROVIDER", "podman")
    assert not own_engine_applies()
