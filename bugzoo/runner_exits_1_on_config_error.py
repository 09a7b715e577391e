"""Runner lets an unusable token file escape as a traceback: exit 1 instead of 66.

The regression: the configuration error class moved in a refactor and the
entry point's ``except`` still names the old one.  The message (path and
cause) is still printed, inside a traceback, so the log looks right, but
the pod exits 1 -- a generic crash -- and nothing that keys on exit 66
("fix the mount, do not retry") fires.
"""

from __future__ import annotations

import sys

from bugzoo._override import Override, apply_all
from runner_stub import __main__ as runner

KILLED_BY = ("missing-file-fails-fast-absent",)


class StaleConfigError(Exception):
    """The name the entry point catches after the refactor: nothing raises it."""


def stale(_current: object) -> type[Exception]:
    return StaleConfigError


OVERRIDES = (Override(runner, "RunnerConfigError", stale),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(runner.main())
