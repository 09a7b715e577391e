"""Fixtures for node proofs: built images and a containerd of the tests' own.

Everything here is real: debootstrap, pip, go, containerd, runc and the CNI
plugins.  The images are built once per session (cached across sessions in
``$LONGHAUL_CACHE``); each module gets its own containerd in a temporary
directory and stops it (leaving nothing) when done.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from longhaul.fixtures.cluster.local.containerd import Containerd
from longhaul.fixtures.cluster.local.hostdeps import node_tools_unavailable_reason
from longhaul.fixtures.images.runner import NodeImages, build_node_images


@pytest.fixture(scope="session", autouse=True)
def _node_host() -> None:
    reason = node_tools_unavailable_reason()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def images() -> NodeImages:
    return build_node_images()


@pytest.fixture(scope="module")
def containerd(images: NodeImages, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Containerd]:
    """A running containerd with the pause and runner images imported."""
    ctd = Containerd(tmp_path_factory.mktemp("ctd"), sandbox_image=images.pause.ref)
    ctd.start()
    try:
        for built in images.all:
            ctd.import_image(images.store, built.image)
        yield ctd
    finally:
        ctd.stop()
