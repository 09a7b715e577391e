"""A failing scenario's bundle gets the cluster's logs, with the scenario's tokens withheld."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from longhaul.fixtures.engine.cluster_logs import DIRNAME, export_into_bundle
from longhaul.tokens import TokenProbe

TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"
OPAQUE = "opaque-token-value-without-dots-0123456789abcdef"


@dataclass(frozen=True)
class ExportingCluster:
    """A cluster whose export writes what kind's does: per-node directories of text logs."""

    name: str = "lh-1"
    provider: str = "kind"
    kubeconfig: Path = Path("/nonexistent")
    k8s_version: str = "v1.34.4"
    host_address: str = "198.19.251.1"

    def export_logs(self, dest: Path) -> Path:
        node = dest / f"kind-{self.name}" / "lh-1-control-plane"
        node.mkdir(parents=True)
        (node / "kubelet.log").write_text(f"ok\nrunner printed {OPAQUE} and {TOKEN}\n")
        (node / "binary.bin").write_bytes(b"\xff\xfe\x00")
        return dest / f"kind-{self.name}"


@dataclass(frozen=True)
class PlainCluster:
    name: str = "x"
    provider: str = "existing"
    kubeconfig: Path = Path("/nonexistent")
    k8s_version: str = "v1.34.4"
    host_address: str = ""


def test_the_export_lands_in_the_bundle_with_tokens_withheld(tmp_path: Path) -> None:
    said = export_into_bundle(ExportingCluster(), tmp_path, TokenProbe.of([OPAQUE]))
    log = (tmp_path / DIRNAME / "kind-lh-1" / "lh-1-control-plane" / "kubelet.log").read_text()
    assert OPAQUE not in log and TOKEN not in log and log.startswith("ok\n")
    assert said.startswith(f"cluster logs in {tmp_path / DIRNAME}") and "withheld" in said


def test_a_provider_without_logs_says_so(tmp_path: Path) -> None:
    assert export_into_bundle(PlainCluster(), tmp_path, None) == "the existing provider cannot export logs"
    assert not (tmp_path / DIRNAME).exists()


@dataclass(frozen=True)
class PartWayCluster(ExportingCluster):
    """kind exits 1 when a collector fails (no crictl in the node) after writing the rest."""

    def export_logs(self, dest: Path) -> Path:
        super().export_logs(dest)
        raise RuntimeError("crictl: executable file not found")


def test_a_part_way_export_is_kept_and_scrubbed_too(tmp_path: Path) -> None:
    said = export_into_bundle(PartWayCluster(), tmp_path, TokenProbe.of([OPAQUE]))
    log = (tmp_path / DIRNAME / "kind-lh-1" / "lh-1-control-plane" / "kubelet.log").read_text()
    assert OPAQUE not in log and TOKEN not in log
    assert "failed part-way" in said and "withheld" in said
