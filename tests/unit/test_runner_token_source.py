"""Which token the runner uses, per contract, and what it does when the file is bad.

These are the fix's rules: BOT_TOKEN_PATH wins and is re-read on every read;
BOT_TOKEN is only a fallback when BOT_TOKEN_PATH is unset; a set-but-unusable
path fails fast (exit 66) without falling back.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from longhaul.contract import Contract, RunnerExit
from longhaul.fixtures.rigs.projected_secret import ProjectedSecretDir
from runner_stub.token_source import EnvTokenSource, FileTokenSource, RunnerConfigError, resolve_token_source

FILE_TOKEN = "file-token-value"
ENV_TOKEN = "env-token-value"


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "k8s-token"
    path.write_text(FILE_TOKEN + "\n")
    return path


@pytest.mark.parametrize(
    ("contract", "use_path", "use_env", "expected"),
    [
        (Contract.BOT_TOKEN_PATH, True, True, FILE_TOKEN),
        (Contract.BOT_TOKEN_PATH, True, False, FILE_TOKEN),
        (Contract.BOT_TOKEN_PATH, False, True, ENV_TOKEN),
        (Contract.LEGACY_ENV, True, True, ENV_TOKEN),
        (Contract.UPSTREAM, True, True, FILE_TOKEN),
        (Contract.UPSTREAM, False, True, ENV_TOKEN),
    ],
)
def test_resolution_table(
    contract: Contract, use_path: bool, use_env: bool, expected: str, token_file: Path, tmp_path: Path
) -> None:
    env = {}
    if use_path and contract is not Contract.UPSTREAM:
        env["BOT_TOKEN_PATH"] = str(token_file)
    if use_env:
        env["BOT_TOKEN"] = ENV_TOKEN
    upstream = token_file if (use_path and contract is Contract.UPSTREAM) else tmp_path / "absent"
    assert resolve_token_source(contract, env, upstream).read() == expected


@pytest.mark.parametrize("contract", list(Contract))
@pytest.mark.parametrize("env", [{}, {"BOT_TOKEN": "  \n"}, {"BOT_TOKEN_PATH": ""}])
def test_no_usable_source_is_exit_78(contract: Contract, env: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(RunnerConfigError) as info:
        resolve_token_source(contract, env, tmp_path / "absent")
    assert info.value.exit_code is RunnerExit.NO_TOKEN_SOURCE
    assert "BOT_TOKEN" in str(info.value)


def _bad_file(kind: str, tmp_path: Path) -> Path:
    path = tmp_path / "k8s-token"
    if kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_text(" \n")
    elif kind == "binary":
        path.write_bytes(b"\xff\xfe token")
    elif kind == "dangling symlink":
        path.symlink_to(tmp_path / "..data" / "k8s-token")
    return path


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("missing", "does not exist"),
        ("dangling symlink", "does not exist"),
        ("directory", "is a directory"),
        ("empty", "is empty"),
        ("binary", "not ASCII"),
    ],
)
def test_unusable_token_file_fails_fast_without_falling_back(kind: str, words: str, tmp_path: Path) -> None:
    path = _bad_file(kind, tmp_path)
    with pytest.raises(RunnerConfigError) as info:
        resolve_token_source(Contract.BOT_TOKEN_PATH, {"BOT_TOKEN_PATH": str(path), "BOT_TOKEN": ENV_TOKEN})
    assert info.value.exit_code is RunnerExit.TOKEN_FILE_UNUSABLE
    assert str(path) in str(info.value) and words in str(info.value)
    assert ENV_TOKEN not in str(info.value)


def test_token_file_that_fails_to_read_fails_fast() -> None:
    """A read error (EIO here; EACCES in a pod without root) is unusable too, and says why."""
    path = Path("/proc/self/mem")  # opens fine, reading offset 0 fails with EIO even for root
    with pytest.raises(RunnerConfigError) as info:
        FileTokenSource(path).read()
    assert info.value.exit_code is RunnerExit.TOKEN_FILE_UNUSABLE
    assert "cannot be read (Input/output error)" in str(info.value)


def test_file_source_sees_each_kubelet_style_update(tmp_path: Path) -> None:
    volume = ProjectedSecretDir(tmp_path / "runner-token")
    volume.write({"k8s-token": "first"})
    source = resolve_token_source(Contract.BOT_TOKEN_PATH, {"BOT_TOKEN_PATH": str(volume.path("k8s-token"))})
    assert source.read() == "first"
    for value in ("second", "third"):
        volume.write({"k8s-token": value})
        assert source.read() == value


def test_file_that_disappears_later_fails_on_the_next_read(token_file: Path) -> None:
    source = resolve_token_source(Contract.BOT_TOKEN_PATH, {"BOT_TOKEN_PATH": str(token_file)})
    token_file.unlink()
    with pytest.raises(RunnerConfigError) as info:
        source.read()
    assert info.value.exit_code is RunnerExit.TOKEN_FILE_UNUSABLE


def test_env_source_is_frozen_at_start() -> None:
    env = {"BOT_TOKEN": ENV_TOKEN}
    source = resolve_token_source(Contract.BOT_TOKEN_PATH, env)
    env["BOT_TOKEN"] = "changed"
    assert isinstance(source, EnvTokenSource)
    assert source.read() == ENV_TOKEN
