"""Regression: every failure (bad config, missing token file, gave up) exits 0.

A pod that failed then looks like a session that finished.
"""

import sys

from ambient_runner.app import Runner, main

KILLED_BY = ("fails-fast-on-missing-file", "gives-up-with-exit-1")


class ZeroRunner(Runner):
    def failure_exit_code(self) -> int:
        return 0


if __name__ == "__main__":
    sys.exit(main(ZeroRunner))
