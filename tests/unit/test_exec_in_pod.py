"""``exec_in_pod`` never borrows the caller's ApiClient for its WebSocket.

``kubernetes.stream.stream`` replaces ``call_api`` on the client it is given
for the length of the call; a fault applied from another thread through the
same client then went out as a WebSocket upgrade and failed.  The client here
records every assignment to ``call_api``; the exec goes to a closed port, so
it fails fast, and must have left the shared client alone.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from longhaul.fixtures.kube.through_api import exec_in_pod


class _WatchedClient(client.ApiClient):
    """An ApiClient that notes when someone swaps its ``call_api``."""

    def __init__(self, configuration: client.Configuration) -> None:
        super().__init__(configuration)
        self.swaps: list[str] = []

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "call_api":
            self.swaps.append(name)
        super().__setattr__(name, value)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_exec_leaves_the_callers_client_untouched_for_other_threads() -> None:
    configuration = client.Configuration()
    configuration.host = f"http://127.0.0.1:{_closed_port()}"
    shared = _WatchedClient(configuration)
    with pytest.raises(ApiException):  # nothing listens: the exec itself fails
        exec_in_pod(client.CoreV1Api(shared), "ns", "pod", ["true"], timeout=2)
    assert shared.swaps == []
