"""Regression: the connect log line carries the token value instead of its fingerprint."""

import sys

from ambient_runner.app import Runner, main

KILLED_BY = ("never-logs-token",)


class LeakyRunner(Runner):
    def token_label(self, token: str) -> str:
        return f"token={token}"


if __name__ == "__main__":
    sys.exit(main(LeakyRunner))
