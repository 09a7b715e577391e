"""Deliberately broken runners: each module changes one behaviour of :mod:`ambient_runner.app`.

Run one as ``python3 -m ambient_runner.broken.<name>``; ``KILLED_BY`` names the behaviour checks
(tests/foreign/test_foreign_runner.py) that must fail against it.
"""

VARIANTS = (
    "caches_token",
    "empty_token_on_missing_file",
    "exit_0_on_failure",
    "logs_token",
    "never_gives_up",
    "sigterm_exit_0",
)
