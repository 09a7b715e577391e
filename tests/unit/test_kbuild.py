"""The generated Go module that builds Kubernetes from the module proxy."""

from __future__ import annotations

from pathlib import Path

import pytest

from longhaul.fixtures.gobuild import kubernetes as kbuild
from longhaul.fixtures.gobuild.kubernetes import (
    _replaces_match,
    ensure_binaries,
    normalize_version,
    render_gomod,
    staging_modules,
)

UPSTREAM = """module k8s.io/kubernetes

go 1.24.0

godebug default=go1.24

require (
\tgithub.com/x/y v1.0.0
)

replace (
\tk8s.io/api => ./staging/src/k8s.io/api
\tk8s.io/client-go => ./staging/src/k8s.io/client-go
\tk8s.io/kubelet => ./staging/src/k8s.io/kubelet
)
"""


def test_staging_modules_are_read_from_the_tags_go_mod() -> None:
    assert staging_modules(UPSTREAM) == ["k8s.io/api", "k8s.io/client-go", "k8s.io/kubelet"]


def test_each_staging_module_is_replaced_by_its_published_v0_twin() -> None:
    gomod = render_gomod("v1.34.4", UPSTREAM)
    assert "require k8s.io/kubernetes v1.34.4" in gomod
    for module in staging_modules(UPSTREAM):
        assert f"\t{module} => {module} v0.34.4" in gomod
    assert "./staging" not in gomod
    assert "go 1.24.0" in gomod and "godebug default=go1.24" in gomod


@pytest.mark.parametrize("given,expected", [("1.34.4", "v1.34.4"), ("v1.35.0", "v1.35.0")])
def test_versions_are_normalized(given: str, expected: str) -> None:
    assert normalize_version(given) == expected


@pytest.mark.parametrize("bad", ["1.34", "latest", "v2.0.0", "v1.34.4-rc.1"])
def test_bad_versions_are_rejected_clearly(bad: str) -> None:
    with pytest.raises(ValueError, match=r"must look like v1\.34\.4"):
        normalize_version(bad)


def test_a_module_go_get_extended_still_matches_its_rendered_go_mod() -> None:
    rendered = render_gomod("v1.34.4", UPSTREAM)
    after_go_get = rendered + "\nrequire (\n\tgithub.com/x/y v1.0.0 // indirect\n)\n"
    assert _replaces_match(after_go_get, rendered)
    assert not _replaces_match(render_gomod("v1.34.3", UPSTREAM), rendered)


def test_only_known_commands_can_be_requested() -> None:
    with pytest.raises(ValueError, match="cannot build kube-nonsense"):
        ensure_binaries("v1.34.4", extra=("kube-nonsense",))


def test_the_local_provider_builds_kube_proxy_with_the_same_module() -> None:
    assert set(kbuild.LOCAL_EXTRA_COMPONENTS) <= set(kbuild.BUILDABLE)
    assert "kube-proxy" in kbuild.LOCAL_EXTRA_COMPONENTS


def test_coredns_version_is_the_one_kubeadm_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    consts = tmp_path / "cmd/kubeadm/app/constants/constants.go"
    consts.parent.mkdir(parents=True)
    consts.write_text('const (\n\t// CoreDNSVersion is the version of CoreDNS to be deployed if it is used\n'
                      '\tCoreDNSVersion = "v1.12.1"\n)\n')  # fmt: skip
    monkeypatch.setattr(kbuild, "_module_info", lambda version: {"Dir": str(tmp_path)})
    assert kbuild.coredns_version_for("v1.34.4") == "v1.12.1"
    consts.write_text("const ()\n")
    with pytest.raises(kbuild.BuildError, match="CoreDNSVersion"):
        kbuild.coredns_version_for("v1.34.4")
