"""The base layer is keyed on what shapes it, and built from the mirror apt already uses."""

from __future__ import annotations

from pathlib import Path

import pytest

from longhaul.fixtures.images.rootfs import DEFAULT_MIRROR, DebianBase, apt_mirror

pytestmark = pytest.mark.node


def _sources(root: Path, name: str, text: str) -> Path:
    (root / "sources.list.d").mkdir(parents=True, exist_ok=True)
    path = root / "sources.list.d" / name if name != "sources.list" else root / name
    path.write_text(text)
    return root


def test_mirror_comes_from_deb822_sources(tmp_path: Path) -> None:
    root = _sources(
        tmp_path,
        "debian.sources",
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n\n"
        "Types: deb\n# a comment\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n",
    )
    assert apt_mirror("bookworm", root) == "http://mirror.example/debian"


def test_mirror_comes_from_one_line_sources(tmp_path: Path) -> None:
    root = _sources(tmp_path, "sources.list", "deb [arch=amd64] http://old.example/debian bookworm main\n")
    assert apt_mirror("bookworm", root) == "http://old.example/debian"
    assert apt_mirror("trixie", root) == DEFAULT_MIRROR


def test_base_key_changes_with_each_input() -> None:
    base = DebianBase(mirror="http://m/debian")
    variants = [
        DebianBase(mirror="http://m/debian", suite="trixie"),
        DebianBase(mirror="http://m/debian", packages=("python3",)),
        DebianBase(mirror="http://other/debian"),
        DebianBase(mirror="http://m/debian", variant="buildd"),
    ]
    assert len({base.key(), *(v.key() for v in variants)}) == 1 + len(variants)
    assert DebianBase(mirror="http://m/debian").key() == base.key()
