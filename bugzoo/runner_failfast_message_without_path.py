"""Runner fails fast on an unusable token file, but its log line names neither the file nor why.

The regression: a logging refactor moved the path and the cause into
structured fields that the runner's plain formatter drops, leaving
"token file unusable" on its own.  Exit 66 comes at once and nothing is sent,
so every check on behaviour holds; the person paged at 3 a.m. is told that
some token file is unusable, not which path the pod mounts or whether it is
missing, empty or a directory, which is what the operator's mount needs fixed.
"""

from __future__ import annotations

import sys
from typing import Any

from bugzoo._override import Override, apply_all
from longhaul.contract import ENV_BOT_TOKEN, RunnerExit
from runner_stub import __main__ as runner
from runner_stub.token_source import FileTokenSource, RunnerConfigError

KILLED_BY = ("missing-file-fails-fast-absent",)


def without_path(_original: Any) -> Any:
    def unusable(self: FileTokenSource, why: str) -> RunnerConfigError:
        return RunnerConfigError(
            RunnerExit.TOKEN_FILE_UNUSABLE, f"token file unusable; refusing to fall back to {ENV_BOT_TOKEN}"
        )

    return unusable


OVERRIDES = (Override(FileTokenSource, "_unusable", without_path),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(runner.main())
