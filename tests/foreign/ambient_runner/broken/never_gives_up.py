"""Regression: reconnects forever; a backend that is gone (or a token that is never refreshed)
leaves a runner that hangs instead of failing with exit 1."""

import sys

import tenacity

from ambient_runner.app import Runner, main

KILLED_BY = ("gives-up-with-exit-1",)


class StubbornRunner(Runner):
    def stop_policy(self) -> tenacity.stop.stop_base:
        return tenacity.stop_never


if __name__ == "__main__":
    sys.exit(main(StubbornRunner))
