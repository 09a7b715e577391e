"""The harness helpers the stub tests lean on: the leak scan finds leaks; the volume swaps like kubelet."""

from __future__ import annotations

import os
from pathlib import Path

from longhaul.fixtures.engine.leak_scan import scan_for_tokens
from longhaul.fixtures.rigs.projected_secret import ProjectedSecretDir
from longhaul.fixtures.rigs.token_issuer import TokenIssuer
from longhaul.tokens import fingerprint


def test_leak_scan_finds_a_token_and_a_bare_jwt_signature(tmp_path: Path) -> None:
    issuer = TokenIssuer()
    whole, sig_only, clean, tail = issuer.mint("a"), issuer.mint("b"), issuer.mint("c"), issuer.mint("d")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "one.log").write_text(f"auth header Bearer {whole}\n")
    (tmp_path / "two.log").write_text(f"sig={sig_only.rsplit('.', 1)[1]}\nfp={fingerprint(clean)}\n")
    (tmp_path / "three.log").write_text(f"...{tail[-20:]}\n")
    leaks = scan_for_tokens([tmp_path], issuer.minted)
    assert {(leak.path.name, leak.token_fp) for leak in leaks} == {
        ("one.log", fingerprint(whole)),
        ("two.log", fingerprint(sig_only)),
        ("three.log", fingerprint(tail)),
    }
    assert all(whole not in str(leak) for leak in leaks)


def test_leak_scan_of_clean_files_is_empty(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text("nothing to see")
    assert scan_for_tokens([tmp_path, tmp_path / "missing"], ["some-token-value"]) == []


def test_projected_volume_swaps_data_link_and_keeps_names_stable(tmp_path: Path) -> None:
    volume = ProjectedSecretDir(tmp_path / "vol")
    volume.write({"k8s-token": "one"})
    first_target = os.readlink(volume.root / "..data")
    link_before = os.readlink(volume.path("k8s-token"))
    volume.write({"k8s-token": "two"})
    assert volume.path("k8s-token").read_text() == "two"
    assert os.readlink(volume.path("k8s-token")) == link_before == "..data/k8s-token"
    assert os.readlink(volume.root / "..data") != first_target
    assert not (volume.root / first_target).exists(), "old version directory must be removed"


def test_reader_holding_the_old_file_open_keeps_the_old_token(tmp_path: Path) -> None:
    """Why the runner must reopen by path: an open descriptor never sees the update."""
    volume = ProjectedSecretDir(tmp_path / "vol")
    volume.write({"k8s-token": "old"})
    with open(volume.path("k8s-token")) as held:
        volume.write({"k8s-token": "new"})
        assert held.read() == "old"
    assert volume.path("k8s-token").read_text() == "new"
