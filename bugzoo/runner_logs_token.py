"""Runner logs the token value where its fingerprint belongs.

The regression: while debugging "which token did we send?", someone logs
the token itself instead of ``fingerprint(token)``.  Every connect line now
carries a live credential into pod logs, log shipping and CI artifacts.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from bugzoo._override import Override, apply_all
from runner_stub import __main__ as runner
from runner_stub import session

KILLED_BY = ("long-session-survives-rotations",)


def the_token_itself(_fingerprint: Callable[[str], str]) -> Callable[[str], str]:
    def identify(token: str) -> str:
        return token

    return identify


OVERRIDES = (Override(session, "fingerprint", the_token_itself),)

if __name__ == "__main__":
    apply_all(OVERRIDES)
    sys.exit(runner.main())
