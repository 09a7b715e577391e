"""Runner retries forever instead of giving up (exit 75) when it cannot reconnect.

The regression: "never drop a session" -- the give-up deadline is removed.
When the token can no longer be refreshed (operator down, env token
rejected), the pod stays Running and retries with a dead token forever: the
session hangs instead of failing loudly, and nothing alerts on it.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Callable
from typing import Any

from bugzoo._override import Override, apply_all
from runner_stub import __main__ as runner
from runner_stub.config import RunnerConfig

KILLED_BY = ("refresh-stalled-fails-loudly", "legacy-env-fallback")


def without_deadline(parse: Callable[..., RunnerConfig]) -> Callable[..., RunnerConfig]:
    def parse_and_never_give_up(*args: Any, **kwargs: Any) -> RunnerConfig:
        return dataclasses.replace(parse(*args, **kwargs), give_up_after=math.inf)

    return parse_and_never_give_up


OVERRIDES = (Override(runner, "parse_config", without_deadline),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(runner.main())
