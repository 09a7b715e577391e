"""Where the runner gets its bearer token, decided once, read on every connect.

This module is the fix under test in miniature:

* ``BOT_TOKEN_PATH`` set: the token is the content of that file, read afresh on
  every connect and reconnect, so a Secret the operator refreshed (and kubelet
  re-projected) is picked up without a restart.  A missing, unreadable, empty
  file or a directory is a configuration error: fail fast with a message naming
  the path, because silently falling back to a stale env token is the bug.
* ``BOT_TOKEN_PATH`` unset: legacy ``BOT_TOKEN`` from the environment, frozen at
  process start (that is what made long sessions die).
* neither: nothing to authenticate with.

The UPSTREAM contract has a fixed path instead of ``BOT_TOKEN_PATH`` and the
same env fallback; LEGACY_ENV ignores any file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from longhaul.contract import ENV_BOT_TOKEN, ENV_BOT_TOKEN_PATH, UPSTREAM_TOKEN_PATH, Contract, RunnerExit


class RunnerConfigError(Exception):
    """The runner cannot work as configured; carries the exit code that says why."""

    def __init__(self, exit_code: RunnerExit, message: str) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class TokenSource(Protocol):
    @property
    def kind(self) -> str: ...

    @property
    def where(self) -> str: ...

    def read(self) -> str:
        """The current token, stripped.  Raises RunnerConfigError if unusable."""
        ...


@dataclass(frozen=True)
class FileTokenSource:
    """A token file (typically a Secret volume item), opened afresh on each read.

    Opening by path each time matters: kubelet updates a Secret volume by
    swapping the ``..data`` symlink, so a kept-open descriptor would keep
    reading the old token.
    """

    path: Path
    origin: str = ENV_BOT_TOKEN_PATH
    kind: str = "file"

    @property
    def where(self) -> str:
        return str(self.path)

    def read(self) -> str:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            raise self._unusable("does not exist") from None
        except IsADirectoryError:
            raise self._unusable("is a directory") from None
        except OSError as exc:
            raise self._unusable(f"cannot be read ({exc.strerror or type(exc).__name__})") from None
        try:
            token = raw.decode("ascii").strip()
        except UnicodeDecodeError:
            raise self._unusable("is not ASCII text") from None
        if not token:
            raise self._unusable("is empty")
        return token

    def _unusable(self, why: str) -> RunnerConfigError:
        return RunnerConfigError(
            RunnerExit.TOKEN_FILE_UNUSABLE,
            f"token file {self.path} (from {self.origin}) {why}; refusing to fall back to {ENV_BOT_TOKEN}",
        )


@dataclass(frozen=True)
class EnvTokenSource:
    """A token fixed at process start.  ``read`` returns the same value forever."""

    name: str
    value: str
    kind: str = "env"

    @property
    def where(self) -> str:
        return self.name

    def read(self) -> str:
        return self.value.strip()


def resolve_token_source(
    contract: Contract, env: Mapping[str, str], upstream_path: Path = Path(UPSTREAM_TOKEN_PATH)
) -> TokenSource:
    """Pick the token source for ``contract`` from ``env``; raise RunnerConfigError if none works.

    The first read happens here too, so a bad file fails at start-up and not
    on the first reconnect hours later.
    """
    source: TokenSource | None = None
    if contract is Contract.BOT_TOKEN_PATH and env.get(ENV_BOT_TOKEN_PATH, "") != "":
        source = FileTokenSource(Path(env[ENV_BOT_TOKEN_PATH]))
    elif contract is Contract.UPSTREAM and upstream_path.exists():
        source = FileTokenSource(upstream_path, origin="the upstream fixed path")
    elif env.get(ENV_BOT_TOKEN, "").strip():
        source = EnvTokenSource(ENV_BOT_TOKEN, env[ENV_BOT_TOKEN])
    if source is None:
        wanted = {
            Contract.BOT_TOKEN_PATH: f"{ENV_BOT_TOKEN_PATH} or {ENV_BOT_TOKEN}",
            Contract.UPSTREAM: f"{upstream_path} or {ENV_BOT_TOKEN}",
            Contract.LEGACY_ENV: ENV_BOT_TOKEN,
        }[contract]
        raise RunnerConfigError(RunnerExit.NO_TOKEN_SOURCE, f"no token source: set {wanted}")
    source.read()
    return source
