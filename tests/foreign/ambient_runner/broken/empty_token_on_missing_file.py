"""Regression: a missing, unreadable or empty token file yields an empty token instead of an error.

The runner starts and dials the backend with ``Authorization: Bearer `` (no token) instead of
failing at once with the path in the log.
"""

import sys

from ambient_runner.app import Runner, TokenFileError, main

KILLED_BY = ("fails-fast-on-missing-file",)


class EmptyTokenRunner(Runner):
    def read_token(self) -> str:
        try:
            return super().read_token()
        except TokenFileError:
            return ""


if __name__ == "__main__":
    sys.exit(main(EmptyTokenRunner))
