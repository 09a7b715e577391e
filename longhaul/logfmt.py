"""One log line per event, ``key=value`` pairs (logfmt), for stubs and harness alike.

Why: a scenario reads component logs as evidence (which token fingerprint a
runner used on each connect), so lines must be machine-parseable as well as
readable.  Values are quoted only when needed.  Callers pass fingerprints,
never tokens; the leak scan checks that.
"""

from __future__ import annotations

import re
import sys
import time
from typing import TextIO

_BARE = re.compile(r"^[A-Za-z0-9_.:/@+\-]+$")
_PAIR = re.compile(r'([A-Za-z0-9_]+)=("(?:[^"\\]|\\.)*"|[^\s"]*)(?:\s+|$)')
_ESCAPE = re.compile(r"\\(.)")


def _quote(value: object) -> str:
    text = str(value)
    if _BARE.fullmatch(text):  # not .match: "$" would accept a trailing newline unquoted
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def format_event(event: str, **fields: object) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + f".{int(time.time() * 1000) % 1000:03d}Z"
    parts = [f"ts={stamp}", f"event={_quote(event)}"]
    parts += [f"{key}={_quote(value)}" for key, value in fields.items() if value is not None]
    return " ".join(parts)


def log_event(event: str, *, stream: TextIO | None = None, **fields: object) -> None:
    print(format_event(event, **fields), file=stream or sys.stderr, flush=True)


def parse_line(line: str) -> dict[str, str]:
    """Exact inverse of :func:`format_event` for lines it wrote; any other line gives {}."""
    text = line.strip()
    pairs: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        match = _PAIR.match(text, pos)
        if match is None:
            return {}
        key, value = match.group(1), match.group(2)
        if value.startswith('"'):
            value = _ESCAPE.sub(lambda m: "\n" if m.group(1) == "n" else m.group(1), value[1:-1])
        pairs[key] = value
        pos = match.end()
    return pairs if "event" in pairs else {}
