"""Reconnect delays stay within bounds, grow, and restart small after a good connection."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runner_stub.backoff import Backoff


@given(
    st.floats(0.01, 2.0),
    st.floats(1.0, 10.0),
    st.floats(1.0, 4.0),
    st.floats(0.0, 0.9),
    st.integers(1, 40),
    st.integers(0, 2**32),
)
def test_delays_are_bounded_by_cap_and_jitter(
    initial: float, cap_factor: float, factor: float, jitter: float, n: int, seed: int
) -> None:
    b = Backoff(
        initial=initial, maximum=initial * cap_factor, factor=factor, jitter=jitter, rng=random.Random(seed)
    )
    for _ in range(n):
        delay = b.next_delay()
        assert initial * (1 - jitter) - 1e-9 <= delay <= b.maximum + 1e-9


def test_without_jitter_delays_double_up_to_the_cap() -> None:
    b = Backoff(initial=0.5, maximum=3.0, factor=2.0, jitter=0.0)
    assert [b.next_delay() for _ in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_reset_starts_over() -> None:
    b = Backoff(initial=0.5, maximum=3.0, jitter=0.0)
    for _ in range(4):
        b.next_delay()
    b.reset()
    assert b.next_delay() == 0.5


@pytest.mark.parametrize(
    "kwargs", [{"initial": 0}, {"initial": 2, "maximum": 1}, {"factor": 0.5}, {"jitter": 1}]
)
def test_invalid_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(**kwargs)  # type: ignore[arg-type]
