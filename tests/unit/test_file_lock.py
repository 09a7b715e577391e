"""Lock waits are bounded and say who holds the lock: a stuck holder ends a run with a reason."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from longhaul.fixtures.util.cache import LockTimeout, file_lock

HOLD = """
import sys, time
from pathlib import Path
from longhaul.fixtures.util.cache import file_lock
with file_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(30)
"""


def test_a_lock_held_elsewhere_times_out_naming_its_holder(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        started = time.monotonic()
        with (
            pytest.raises(LockTimeout, match=rf"lock {lock} \(last taken by pid {holder.pid}\)"),
            file_lock(lock, timeout=0.5),
        ):
            pass
        assert time.monotonic() - started < 20  # it gave up instead of waiting for the holder
    finally:
        holder.kill()
        holder.wait()
    with file_lock(lock, timeout=5):  # the holder is gone: the lock is free again
        assert lock.read_text().strip() == str(os.getpid())


def test_shared_holders_coexist_and_an_exclusive_one_waits(tmp_path: Path) -> None:
    lock = tmp_path / "s.lock"
    with (
        file_lock(lock, shared=True),
        file_lock(lock, shared=True, timeout=1),
        pytest.raises(LockTimeout),
        file_lock(lock, timeout=0.3),
    ):
        pass
