"""Token values never travel: fingerprints, known-token redaction and JWT-shaped redaction."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from longhaul.tokens import fingerprint, redact, redact_jwt_shaped

B64URL = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=16, max_size=80
)


@given(claims=B64URL, signature=B64URL, before=st.text(max_size=30), after=st.text(max_size=30))
def test_a_jwt_shaped_string_is_replaced_by_its_fingerprint_wherever_it_stands(
    claims: str, signature: str, before: str, after: str
) -> None:
    token = f"eyJhbGciOiJSUzI1NiJ9.eyJ{claims}.{signature}"
    out = redact_jwt_shaped(f"{before} {token} {after}")
    assert token not in out
    assert f"<token:{fingerprint(token)}>" in out


def test_text_without_tokens_is_unchanged() -> None:
    text = "event=connected token_fp=1a2b3c4d attempt=3 path=/app/runner-token/k8s-token"
    assert redact_jwt_shaped(text) == text


def test_known_tokens_are_redacted_longest_first() -> None:
    short, long = "secret-abc", "secret-abcdef"
    out = redact(f"{long} and {short}", [short, long])
    assert short not in out and long not in out
    assert f"<token:{fingerprint(long)}>" in out
