"""Fixtures for the foreign programs' own tests.

``tests/foreign`` is on ``sys.path`` (pytest's rootdir-less conftest directory), so the tests can
import ``ambient_runner`` and ``ambient_operator``; the programs themselves never import longhaul.
The runner's dependencies (``ambient_runner/requirements.txt``, which the harness's venv does not
have: ``tenacity``) are pip-installed once into a cache directory keyed by the file's hash.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from longhaul.fixtures.util.cache import cache_dir, file_lock

FOREIGN = Path(__file__).resolve().parent
RUNNER_REQUIREMENTS = FOREIGN / "ambient_runner" / "requirements.txt"


@pytest.fixture(scope="session")
def runner_deps() -> Path:
    """A ``pip install --target`` directory holding the runner's requirements (cached)."""
    key = hashlib.sha256(RUNNER_REQUIREMENTS.read_bytes()).hexdigest()[:16]
    target = cache_dir("foreign") / f"runner-deps-{key}-py{sys.version_info[0]}{sys.version_info[1]}"
    with file_lock(cache_dir("locks") / f"foreign-runner-deps-{key}.lock"):
        if not (target / ".complete").exists():
            pip = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--upgrade"]
            subprocess.run(
                [*pip, "--target", str(target), "-r", str(RUNNER_REQUIREMENTS)],
                check=True,
                timeout=600,
            )
            (target / ".complete").write_text("ok\n")
    return target


@pytest.fixture()
def runner_env(runner_deps: Path) -> dict[str, str]:
    """The environment a runner process starts from: only its own code and dependencies importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENT", "BOT_TOKEN", "BACKEND_"))}
    env["PYTHONPATH"] = f"{FOREIGN}{os.pathsep}{runner_deps}"
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env
