"""A cluster bridge keeps its MAC while pods' veths come and go.

Why: a Linux bridge whose MAC was never set takes the lowest MAC among its
ports.  On a local node that changed whenever a pod was created or deleted;
pods still sent to the gateway's old MAC, and once the port owning it was gone
those frames never reached the host: an established runner -> backend flow
through a ClusterIP went silent mid-session (the existing-cluster fast tier
failed about one run in two).  Here a port with a lower MAC than the bridge's
joins and leaves; the bridge's MAC must not move.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from longhaul.fixtures.cluster.local.cni import BridgeNetwork

pytestmark = pytest.mark.node
INDEX = 252  # 240-255 are the node tests' (see test_cni.py)
LOWEST_MAC = "00:00:5e:00:53:01"  # RFC 7042's documentation range: below any 02:... address


def _mac(dev: str) -> str:
    return Path(f"/sys/class/net/{dev}/address").read_text().strip()


def _ip(*argv: str) -> None:
    subprocess.run(["ip", *argv], capture_output=True, check=True)


def test_the_bridge_mac_stays_put_as_ports_with_lower_macs_join_and_leave(tmp_path: Path) -> None:
    network = BridgeNetwork.for_cluster(f"mac-{uuid.uuid4().hex[:6]}", INDEX, tmp_path)
    port = f"lhm{uuid.uuid4().hex[:8]}"
    try:
        network.ensure_bridge()
        fixed = _mac(network.bridge)

        _ip("link", "add", port, "address", LOWEST_MAC, "type", "veth", "peer", "name", f"{port}p")
        _ip("link", "set", port, "master", network.bridge)
        _ip("link", "set", port, "up")
        assert _mac(network.bridge) == fixed, f"the bridge took its new port's MAC {LOWEST_MAC}"

        _ip("link", "delete", port)
        assert _mac(network.bridge) == fixed, "the bridge's MAC moved when its port left"

        network.ensure_bridge()  # adopting the existing bridge (a warm `up`) changes nothing
        assert _mac(network.bridge) == fixed == network.bridge_mac
        assert int(fixed.split(":")[0], 16) & 0b11 == 0b10, f"{fixed}: not locally administered unicast"
    finally:
        subprocess.run(["ip", "link", "delete", port], capture_output=True)
        network.teardown()
