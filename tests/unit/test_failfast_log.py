"""The fail-fast log acceptor: the path and a cause on one line, in any order and wording a person accepts."""

from __future__ import annotations

import pytest

from longhaul.scenarios.failfast_log import naming_line

PYTHON_LINE = (
    "ERROR runner failed: FileNotFoundError: [Errno 2] No such file or directory: '/app/runner-token/absent'"
)
REFERENCE_ABSENT = (
    'ts=1 event=fatal exit_code=66 error="token file /app/runner-token/absent (from BOT_TOKEN_PATH) '
    'does not exist; refusing to fall back to BOT_TOKEN"'
)


@pytest.mark.parametrize(
    ("line", "path", "cause"),
    [
        (PYTHON_LINE, "/app/runner-token/absent", "absent"),
        (REFERENCE_ABSENT, "/app/runner-token/absent", "absent"),
        ("missing token file /var/run/secrets/ambient/absent", "/var/run/secrets/ambient/absent", "absent"),
        ("/app/t: not found", "/app/t", "absent"),
        ("token file /tmp/empty (from BOT_TOKEN_PATH) is empty; refusing", "/tmp/empty", "empty"),
        (
            "ERROR: IsADirectoryError: [Errno 21] Is a directory: '/app/runner-token'",
            "/app/runner-token",
            "directory",
        ),
        ("token file /app/runner-token/ is a directory", "/app/runner-token", "directory"),
        ("PermissionError: [Errno 13] Permission denied: '/tmp/t'", "/tmp/t", "unreadable"),
        ("token file /tmp/t cannot be read (Permission denied)", "/tmp/t", "unreadable"),
        (PYTHON_LINE, "/app/runner-token/absent", "any"),
    ],
)
def test_accepted(line: str, path: str, cause: str) -> None:
    log = f"starting\n{line}\nbye\n"
    assert naming_line(log, path, cause) == line  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("line", "path", "cause", "why"),
    [
        (
            "ERROR runner failed: FileNotFoundError: [Errno 2] No such file or directory",
            "/app/runner-token/absent",
            "absent",
            "no path",
        ),
        ("reading /app/runner-token/absent", "/app/runner-token/absent", "absent", "no cause"),
        ("token file /tmp/empty rejected", "/tmp/empty", "empty", "the path's own word is not a cause"),
        (
            "token file /app/runner-token/absent does not exist",
            "/app/runner-token",
            "directory",
            "a longer path is not the path",
        ),
        ("Permission denied: '/tmp/t'", "/tmp/t", "absent", "another cause"),
        ("FileNotFoundError: '/tmp/other'", "/tmp/t", "absent", "another path"),
    ],
)
def test_rejected(line: str, path: str, cause: str, why: str) -> None:
    assert naming_line(line, path, cause) is None, why  # type: ignore[arg-type]


def test_path_and_cause_must_share_a_line() -> None:
    assert naming_line("reading /tmp/t\nPermission denied\n", "/tmp/t", "unreadable") is None
