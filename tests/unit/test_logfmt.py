"""logfmt lines are evidence: whatever a value holds, parsing gives it back exactly."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from longhaul.logfmt import format_event, parse_line

keys = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).filter(lambda k: k not in ("ts", "event"))


@given(st.text(min_size=1), st.dictionaries(keys, st.text(), max_size=5))
def test_format_then_parse_is_identity(event: str, fields: dict[str, str]) -> None:
    parsed = parse_line(format_event(event, **fields))
    assert parsed.pop("ts")
    assert parsed == {"event": event, **fields}


def test_none_fields_are_left_out() -> None:
    assert "gone" not in parse_line(format_event("x", gone=None, kept=0))
    assert parse_line(format_event("x", kept=0))["kept"] == "0"


def test_lines_not_written_by_format_event_parse_to_nothing() -> None:
    assert parse_line("Traceback (most recent call last):") == {}
    assert parse_line('key="unterminated') == {}
    assert parse_line("a=1 b=2") == {}  # no event
