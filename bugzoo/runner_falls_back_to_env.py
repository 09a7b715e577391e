"""Runner falls back to BOT_TOKEN (or an empty token) when BOT_TOKEN_PATH is unusable.

The regression: "be lenient" -- a missing, empty or unreadable token file is
logged as a warning and the runner carries on with the legacy env var, empty
when the operator no longer sets it.  The pod looks alive, the backend sees
connection attempts with a stale or empty token, and the real cause (a
broken mount) hides behind 401s instead of exit 66 with a clear message.
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

KILLED_BY = ("missing-file-fails-fast-absent",)


def lenient(resolve: Callable[..., TokenSource]) -> Callable[..., TokenSource]:
    def resolve_or_env(contract: Contract, env: Mapping[str, str], *rest: Any) -> TokenSource:
        try:
            return resolve(contract, env, *rest)
        except RunnerConfigError as exc:
            if exc.exit_code is not RunnerExit.TOKEN_FILE_UNUSABLE:
                raise
            log_event("warning", error=str(exc).split(";")[0], fallback=ENV_BOT_TOKEN)
            return EnvTokenSource(ENV_BOT_TOKEN, env.get(ENV_BOT_TOKEN, ""))

    return resolve_or_env


OVERRIDES = (Override(runner, "resolve_token_source", lenient),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(runner.main())
