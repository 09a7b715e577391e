"""RefreshPolicy over arbitrary clocks, lifetimes and annotation states."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from operator_stub.refresh import RefreshPolicy, RefreshReason
from operator_stub.token_secret import TokenRecord, format_rfc3339, parse_rfc3339

UID = "sa-uid-1"
MOMENTS = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda m: m.replace(microsecond=0))
SECONDS = st.integers(min_value=1, max_value=7200).map(lambda s: timedelta(seconds=s))
POLICIES = st.builds(
    RefreshPolicy,
    interval=SECONDS,
    check_period=st.integers(1, 120).map(lambda s: timedelta(seconds=s)),
    propagation_allowance=st.integers(0, 300).map(lambda s: timedelta(seconds=s)),
)
GARBAGE = st.text(max_size=40).filter(lambda text: parse_rfc3339(text) is None)


def record(refreshed_at: str | None, expires_at: str | None = None, uid: str | None = UID) -> TokenRecord:
    return TokenRecord(
        exists=True, has_token=True, refreshed_at=refreshed_at, expires_at=expires_at, service_account_uid=uid
    )


@settings(max_examples=100, deadline=None)
@given(policy=POLICIES, now=MOMENTS, garbage=st.none() | GARBAGE)
@example(policy=RefreshPolicy(timedelta(minutes=45), timedelta(seconds=5)), now=datetime.now(UTC), garbage="")
@example(policy=RefreshPolicy(timedelta(minutes=45), timedelta(seconds=5)), now=datetime.now(UTC),
         garbage="2026-11-28 10:00:00")  # fmt: skip
def test_missing_or_unparsable_refreshed_at_means_mint_now(
    policy: RefreshPolicy, now: datetime, garbage: str | None
) -> None:
    decision = policy.decide(record(garbage), now, UID)
    assert decision.refresh
    expected = RefreshReason.ANNOTATION_MISSING if garbage is None else RefreshReason.ANNOTATION_UNPARSABLE
    assert decision.reason is expected


@settings(max_examples=100, deadline=None)
@given(policy=POLICIES, now=MOMENTS, ahead=st.integers(1, 10**8))
def test_refreshed_at_far_in_the_future_is_not_trusted(
    policy: RefreshPolicy, now: datetime, ahead: int
) -> None:
    stamp = format_rfc3339(now + policy.future_tolerance + timedelta(seconds=ahead))
    decision = policy.decide(record(stamp), now, UID)
    assert decision.refresh and decision.reason is RefreshReason.ANNOTATION_IN_FUTURE


@settings(max_examples=100, deadline=None)
@given(policy=POLICIES, now=MOMENTS, age=SECONDS, garbage=GARBAGE)
def test_unparsable_expiry_means_mint_now(
    policy: RefreshPolicy, now: datetime, age: timedelta, garbage: str
) -> None:
    decision = policy.decide(record(format_rfc3339(now - age), expires_at=garbage), now, UID)
    assert decision.refresh and decision.reason is RefreshReason.ANNOTATION_UNPARSABLE


@pytest.mark.parametrize(
    ("token", "live_uid", "reason"),
    [
        (TokenRecord.absent(), UID, RefreshReason.SECRET_MISSING),
        (TokenRecord(exists=True, has_token=False, refreshed_at="2026-01-01T00:00:00Z"), UID,
         RefreshReason.TOKEN_MISSING),
        (record("2026-01-01T00:00:00Z"), None, RefreshReason.SERVICE_ACCOUNT_MISSING),
        (record("2026-01-01T00:00:00Z", uid="old-uid"), UID, RefreshReason.SERVICE_ACCOUNT_REPLACED),
        (record("2026-01-01T00:00:00Z", uid=None), UID, RefreshReason.SERVICE_ACCOUNT_REPLACED),
    ],
)  # fmt: skip
def test_anything_the_secret_cannot_vouch_for_means_mint_now(
    token: TokenRecord, live_uid: str | None, reason: RefreshReason
) -> None:
    policy = RefreshPolicy(timedelta(minutes=45), timedelta(seconds=5))
    decision = policy.decide(token, datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC), live_uid)
    assert decision.refresh and decision.reason is reason


@settings(max_examples=200, deadline=None)
@given(
    policy=POLICIES,
    minted=MOMENTS,
    lifetime=st.none() | SECONDS,
    t1=st.integers(-60, 20_000),
    t2=st.integers(-60, 20_000),
)
def test_decision_is_monotonic_in_time(
    policy: RefreshPolicy, minted: datetime, lifetime: timedelta | None, t1: int, t2: int
) -> None:
    """Once a token is due it stays due: a later clock reading never un-refreshes it."""
    early, late = sorted((t1, t2))
    expires = None if lifetime is None else format_rfc3339(minted + lifetime)
    token = record(format_rfc3339(minted), expires)
    first = policy.decide(token, minted + timedelta(seconds=early), UID)
    second = policy.decide(token, minted + timedelta(seconds=late), UID)
    assert not first.refresh or second.refresh


@settings(max_examples=200, deadline=None)
@given(policy=POLICIES, minted=MOMENTS, lifetime=SECONDS, elapsed=st.integers(0, 20_000))
def test_fresh_exactly_until_the_earlier_deadline(
    policy: RefreshPolicy, minted: datetime, lifetime: timedelta, elapsed: int
) -> None:
    """Not due before min(minted + interval, expiry - margin); due from then on.  No early storms."""
    now = minted + timedelta(seconds=elapsed)
    decision = policy.decide(record(format_rfc3339(minted), format_rfc3339(minted + lifetime)), now, UID)
    deadline = min(minted + policy.interval, minted + lifetime - policy.expiry_margin)
    assert decision.refresh == (now >= deadline)
    if decision.refresh:
        near = minted + lifetime - policy.expiry_margin < minted + policy.interval
        assert decision.reason is (RefreshReason.NEAR_EXPIRY if near else RefreshReason.DUE)
    else:
        assert decision.reason is RefreshReason.FRESH and decision.due_at == deadline


@settings(max_examples=100, deadline=None)
@given(
    policy=POLICIES,
    start=MOMENTS,
    headroom_ms=st.integers(1, 4 * 3600 * 1000),
    gaps=st.lists(st.floats(min_value=0.001, max_value=1.0), min_size=1, max_size=300),
)
# The tightest lifetime the claim covers (1 ms over the margin), checks exactly one check period
# apart and no propagation allowance: the old model filtered such lifetimes out (see below).
@example(
    policy=RefreshPolicy(timedelta(minutes=45), timedelta(seconds=5), timedelta(0)),
    start=datetime(2026, 11, 28, 10, tzinfo=UTC),
    headroom_ms=1,
    gaps=[1.0] * 5,
)
# The same, with a lifetime whose true expiry lies just past a second boundary that the
# expires-at annotation truncates away.
@example(
    policy=RefreshPolicy(timedelta(seconds=1), timedelta(seconds=1), timedelta(seconds=90)),
    start=datetime(2026, 11, 28, 10, tzinfo=UTC),
    headroom_ms=864,
    gaps=[1.0, 0.999, 1.0, 0.001, 1.0],
)
def test_a_token_never_reaches_expiry_when_checks_come_at_least_every_check_period(
    policy: RefreshPolicy, start: datetime, headroom_ms: int, gaps: list[float]
) -> None:
    """Simulate the operator: checks at gaps <= check period; the API server may issue any lifetime
    longer than the margin (it can cap what was requested).  The token in place is never expired at a
    check, and every replacement happens with more than the propagation allowance left.

    The lifetime is built as margin + headroom rather than drawn and filtered with ``assume``:
    Hypothesis favours small integers, so a filter rejected about half the draws and sometimes
    enough of them to fail the ``filter_too_much`` health check.  No extra second is needed for
    the annotations' 1 s resolution: they are truncated, which only moves the deadlines earlier.
    """
    lifetime = policy.expiry_margin + timedelta(milliseconds=headroom_ms)
    now = start + timedelta(milliseconds=137)  # off the second boundary on purpose
    token, expires_real = TokenRecord.absent(), None
    for fraction in gaps:
        if expires_real is not None:
            assert now < expires_real, "the mounted token expired before the operator replaced it"
        decision = policy.decide(token, now, UID)
        if decision.refresh:
            if expires_real is not None:
                assert expires_real - now > policy.propagation_allowance
            expires_real = now + lifetime
            token = record(format_rfc3339(now), format_rfc3339(expires_real))
        now += policy.check_period * fraction


@settings(max_examples=100, deadline=None)
@given(policy=POLICIES, lifetime=st.integers(600, 20_000).map(lambda s: timedelta(seconds=s)))
def test_start_up_validation_rejects_intervals_that_outlive_the_token(
    policy: RefreshPolicy, lifetime: timedelta
) -> None:
    if policy.interval + policy.expiry_margin <= lifetime:
        policy.validate_lifetime(lifetime)
    else:
        with pytest.raises(ValueError, match="could expire before its replacement") as raised:
            policy.validate_lifetime(lifetime)
        assert "--refresh-interval" in str(raised.value)


@settings(max_examples=100, deadline=None)
@given(moment=st.datetimes(timezones=st.just(UTC)))
def test_rfc3339_round_trips_at_second_precision(moment: datetime) -> None:
    text = format_rfc3339(moment)
    assert text.endswith("Z") and len(text) == 20
    assert parse_rfc3339(text) == moment.replace(microsecond=0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-28T10:00:00Z", datetime(2026, 11, 28, 10, tzinfo=UTC)),
        ("2026-11-28t10:00:00z", datetime(2026, 11, 28, 10, tzinfo=UTC)),
        ("2026-11-28T12:00:00+02:00", datetime(2026, 11, 28, 10, tzinfo=UTC)),
        ("2026-11-28T10:00:00.123456789Z", datetime(2026, 11, 28, 10, 0, 0, 123456, tzinfo=UTC)),
        ("2026-11-28T10:00:00", None),  # no offset: ambiguous
        ("2026-11-28", None),
        ("2026-13-28T10:00:00Z", None),
        ("1764324000", None),
        ("", None),
    ],
)
def test_rfc3339_parsing_is_strict(text: str, expected: datetime | None) -> None:
    assert parse_rfc3339(text) == expected
