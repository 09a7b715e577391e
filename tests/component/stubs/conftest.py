"""Fixtures for the stub component tests: real backend and runner processes on this machine."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from longhaul.fixtures.rigs.stub_bench import StubBench


@pytest.fixture
def stubs(tmp_path: Path) -> Iterator[StubBench]:
    """A fresh bench; at teardown all processes stop, then logs and ledger must hold no token."""
    with ExitStack() as stack:
        bench = StubBench(tmp_path, stack)
        yield bench
    leaks = bench.leaks()
    assert not leaks, "token values leaked: " + "; ".join(map(str, leaks))
