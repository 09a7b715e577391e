"""Runner falls back to a non-empty BOT_TOKEN when BOT_TOKEN_PATH is unusable.

The regression: a "safer" fallback -- fail fast only when there is nothing to
fall back to.  With a legacy ``BOT_TOKEN`` still set beside the path (an old
Deployment patched, a Helm value left over), a broken mount is no longer an
error: the runner connects with the env token, works until that token ages
out, and the real fault -- the file the operator refreshes is not there --
shows up hours later as a 401.  An empty ``BOT_TOKEN`` still fails fast, so
the missing-file scenarios (which set none) pass.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

from bugzoo._override import Override, apply_all
from longhaul.contract import ENV_BOT_TOKEN, Contract, RunnerExit
from longhaul.logfmt import log_event
from runner_stub import __main__ as runner
from runner_stub.token_source import EnvTokenSource, RunnerConfigError, TokenSource

KILLED_BY = ("bot-token-set-but-path-unusable",)


def env_as_backup(resolve: Callable[..., TokenSource]) -> Callable[..., TokenSource]:
    def resolve_or_env(contract: Contract, env: Mapping[str, str], *rest: Any) -> TokenSource:
        try:
            return resolve(contract, env, *rest)
        except RunnerConfigError as exc:
            backup = env.get(ENV_BOT_TOKEN, "")
            if exc.exit_code is not RunnerExit.TOKEN_FILE_UNUSABLE or not backup.strip():
                raise
            log_event("warning", error=str(exc).split(";")[0], fallback=ENV_BOT_TOKEN)
            return EnvTokenSource(ENV_BOT_TOKEN, backup)

    return resolve_or_env


OVERRIDES = (Override(runner, "resolve_token_source", env_as_backup),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(runner.main())
