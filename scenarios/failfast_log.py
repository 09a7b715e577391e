"""Does a runner's log say *which* token file is unusable and *why*?  Judged as a person would.

The contract asks a runner that cannot use its token file to fail fast "with
one line naming the path and the cause".  A regex with the path before the
cause in longhaul's own words rejects correct runners: Python's own
``FileNotFoundError: [Errno 2] No such file or directory: '/app/runner-token/absent'``
names the cause first and the path last.  So a line is accepted when it names
the path (as a whole path, not a prefix of a longer one) and, anywhere on the
same line, a cause in any of the wordings people and runtimes use for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

Cause = Literal["absent", "empty", "directory", "unreadable", "any"]

# Wordings of each cause: exception names, strerror texts, the phrases people write.
CAUSE_WORDS: Mapping[str, tuple[str, ...]] = {
    "absent": (
        r"FileNotFoundError",
        r"no such file",
        r"not found",
        r"does ?n[o']t exist",
        r"not exist",
        r"missing",
        r"absent",
        r"ENOENT",
    ),
    "empty": (r"\bempty\b", r"zero[- ]length", r"\b0 bytes\b", r"no token in"),
    "directory": (
        r"IsADirectoryError",
        r"is a directory",
        r"\ba directory\b",
        r"not a (regular )?file",
        r"EISDIR",
    ),
    "unreadable": (
        r"PermissionError",
        r"permission denied",
        r"not permitted",
        r"access denied",
        r"unreadable",
        r"(cannot|can't|could not|couldn't|unable to) (be )?read",
        r"not readable",
        r"EACCES",
    ),
}
CAUSE_WORDS = {**CAUSE_WORDS, "any": tuple(w for words in CAUSE_WORDS.values() for w in words)}


def _path_pattern(path: str) -> re.Pattern[str]:
    """``path`` as a whole path: not followed by more path characters (``/a/b`` is not ``/a/b/c``)...

    ...except a directory's trailing slash, and quotes or punctuation around it.
    """
    return re.compile(re.escape(path.rstrip("/")) + r"/?(?![\w.-]|/[\w.-])")


def naming_line(log: str, path: str, cause: Cause = "any") -> str | None:
    """The first line of ``log`` that names ``path`` and a ``cause``; None if there is none."""
    where = _path_pattern(path)
    why = re.compile("|".join(CAUSE_WORDS[cause]), re.IGNORECASE)
    for line in log.splitlines():
        if where.search(line) and why.search(where.sub(" ", line)):
            return line
    return None
