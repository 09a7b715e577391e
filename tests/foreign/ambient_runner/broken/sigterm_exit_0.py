"""Regression: SIGTERM before the session finished exits 0, so a stopped session looks finished."""

import sys

from ambient_runner.app import Runner, main

KILLED_BY = ("sigterm-exits-1",)


class PoliteRunner(Runner):
    def sigterm_exit_code(self) -> int:
        return 0


if __name__ == "__main__":
    sys.exit(main(PoliteRunner))
