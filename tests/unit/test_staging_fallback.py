"""A staging module the proxy does not serve: the nearest earlier patch of its minor, or a clear error."""

from __future__ import annotations

import pytest

from longhaul.fixtures.gobuild.kubernetes import render_gomod
from longhaul.fixtures.gobuild.staging_fallback import nearest_earlier, substitutes_for, unserved

# What `go get` printed on this machine for v1.32.11 (k8s.io/kms v0.32.11 is not served).
PROXY = "https://proxy.golang.org"
GO_GET_OUTPUT = (
    "go: k8s.io/kubernetes/cmd/kube-apiserver imports\n"
    f"\tk8s.io/kms/apis/v2: k8s.io/kms@v0.32.11: reading {PROXY}/k8s.io/kms/@v/v0.32.11.zip: 403 Forbidden\n"
    "\tserver response: This module version is not available.\n"
    f"\tk8s.io/endpointslice: k8s.io/endpointslice@v0.32.11: reading {PROXY}/x.info: 404 Not Found\n"
)


def test_the_unserved_twins_are_read_from_go_gets_output() -> None:
    assert unserved(GO_GET_OUTPUT) == {"k8s.io/kms": "v0.32.11", "k8s.io/endpointslice": "v0.32.11"}
    assert unserved("go: downloading k8s.io/api v0.32.11") == {}


@pytest.mark.parametrize(
    ("wanted", "served", "expected"),
    [
        ("v0.32.11", ["v0.32.3", "v0.32.9", "v0.32.10", "v0.33.1"], "v0.32.10"),
        ("v0.32.13", ["v0.32.12", "v0.32.14"], "v0.32.12"),  # never a later patch
        ("v0.32.3", ["v0.31.9", "v0.33.0"], None),  # never another minor
    ],
)
def test_the_stand_in_is_the_nearest_earlier_patch_of_the_same_minor(
    wanted: str, served: list[str], expected: str | None
) -> None:
    assert nearest_earlier(wanted, served) == expected


def test_no_stand_in_is_an_error_that_says_what_to_do() -> None:
    with pytest.raises(LookupError, match=r"k8s.io/kms v0.32.3 is not served.*--k8s-version"):
        substitutes_for({"k8s.io/kms": "v0.32.3"}, lambda module: ["v0.33.0"])


def test_a_stand_in_replaces_only_its_own_module() -> None:
    upstream = (
        "module k8s.io/kubernetes\n\ngo 1.23.0\n\nreplace (\n"
        "\tk8s.io/api => ./staging/src/k8s.io/api\n\tk8s.io/kms => ./staging/src/k8s.io/kms\n)\n"
    )
    gomod = render_gomod("v1.32.11", upstream, {"k8s.io/kms": "v0.32.10"})
    assert "\tk8s.io/kms => k8s.io/kms v0.32.10" in gomod
    assert "\tk8s.io/api => k8s.io/api v0.32.11" in gomod
