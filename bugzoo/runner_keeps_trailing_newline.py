"""Runner sends the token file's content as is, trailing newline included.

The regression: ``token = f.read()`` without ``.strip()``.  It works as long
as the operator writes exactly the token bytes; the day the Secret is written
by ``kubectl create secret --from-file`` or a sync tool copying a file that
ends in a newline, the ``Authorization`` header carries ``\\n``, the client
library refuses to send it, and the runner can no longer connect.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bugzoo._override import Override, apply_all
from runner_stub import __main__ as runner
from runner_stub.token_source import FileTokenSource

KILLED_BY = ("token-with-trailing-newline",)


def unstripped(read: Callable[[FileTokenSource], str]) -> Callable[[FileTokenSource], str]:
    def read_raw(self: FileTokenSource) -> str:
        read(self)  # the reference's checks (missing, directory, unreadable, empty) still apply
        return self.path.read_bytes().decode("ascii")

    return read_raw


OVERRIDES = (Override(FileTokenSource, "read", unstripped),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(runner.main())
