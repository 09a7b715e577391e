"""The runner/backend message protocol: every message survives a round trip; junk is refused."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from longhaul.wire import Ack, Bye, Done, Event, Hello, Message, ProtocolError, decode, encode

seqs = st.integers(min_value=0, max_value=2**53)
messages: st.SearchStrategy[Message] = st.one_of(
    st.builds(Hello, runner_id=st.text()),
    st.builds(Event, seq=seqs, body=st.text()),
    st.builds(Done, last_seq=seqs),
    st.builds(Ack, seq=seqs),
    st.builds(Bye, last_seq=seqs),
)


@given(messages)
def test_every_message_round_trips(message: Message) -> None:
    assert decode(encode(message)) == message


@given(messages)
def test_bytes_frames_decode_like_text(message: Message) -> None:
    assert decode(encode(message).encode()) == message


@pytest.mark.parametrize(
    "frame",
    [
        "not json",
        "[1, 2]",
        '{"type": "nope"}',
        '{"seq": 1}',
        '{"type": "ack"}',
        '{"type": "ack", "seq": "1"}',
        '{"type": "ack", "seq": true}',
        '{"type": "ack", "seq": 1.5}',
        '{"type": "hello", "runner_id": 7}',
        b"\xff\xfe",
    ],
)
def test_junk_frames_raise_protocol_error(frame: str | bytes) -> None:
    with pytest.raises(ProtocolError):
        decode(frame)


def test_protocol_error_does_not_echo_the_frame() -> None:
    secret = "eyJ.secret-looking.value"
    with pytest.raises(ProtocolError) as info:
        decode(json.dumps({"type": "ack", "seq": secret}))
    assert secret not in str(info.value)
