"""Regression: the token is read once at start and reused for every reconnect.

A rotated token (kubelet swaps the Secret volume's ``..data``) is never presented; once the first
token expires every reconnect is rejected.
"""

import sys

from ambient_runner.app import Runner, main

KILLED_BY = ("rereads-rotated-token",)


class CachingRunner(Runner):
    _cached: str | None = None

    def read_token(self) -> str:
        if self._cached is None:
            self._cached = super().read_token()
        return self._cached


if __name__ == "__main__":
    sys.exit(main(CachingRunner))
