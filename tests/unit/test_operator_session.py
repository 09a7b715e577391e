"""A malformed AgenticSession is rejected in one place, with a message naming the field and the rule."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from longhaul import contract
from operator_stub.session import MAX_SESSION_NAME, RESERVED_ENV, InvalidSession, Session


def cr(name: str = "s1", namespace: str = "ns", uid: str = "u-1", **extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {"metadata": {"name": name, "namespace": namespace, "uid": uid}}
    obj["metadata"]["annotations"] = extra.pop("annotations", {})
    obj["spec"] = extra.pop("spec", {})
    return obj


def test_max_session_name_is_what_the_job_name_label_allows() -> None:
    assert MAX_SESSION_NAME == 59
    assert len(contract.job_name("a" * MAX_SESSION_NAME)) == 63


@settings(max_examples=50, deadline=None)
@given(extra=st.integers(1, 200))
def test_names_longer_than_the_job_label_allows_are_rejected_not_truncated(extra: int) -> None:
    name = "a" * (MAX_SESSION_NAME + extra)
    with pytest.raises(InvalidSession, match=rf"at most {MAX_SESSION_NAME} .*job-name"):
        Session.from_object(cr(name=name))


def test_the_longest_allowed_name_is_accepted_with_contract_names() -> None:
    name = "a" * MAX_SESSION_NAME
    session = Session.from_object(cr(name=name))
    assert session.job_name == f"{name}-job"
    assert session.secret_name == f"ambient-runner-token-{name}"
    assert session.service_account_name == f"ambient-session-{name}"


@pytest.mark.parametrize("name", ["", "UPPER", "-lead", "trail-", "under_score", "a..b", "sp ace"])
def test_names_that_are_not_dns_subdomains_are_rejected(name: str) -> None:
    with pytest.raises(InvalidSession, match="DNS-1123"):
        Session.from_object(cr(name=name))


def test_custom_secret_name_annotation_is_used_and_validated() -> None:
    annotated = cr(annotations={contract.SECRET_NAME_ANNOTATION: "my-token.v2"})
    assert Session.from_object(annotated).secret_name == "my-token.v2"
    with pytest.raises(InvalidSession, match=r"runner-token-secret='Bad_Name' is not a valid Secret name"):
        Session.from_object(cr(annotations={contract.SECRET_NAME_ANNOTATION: "Bad_Name"}))
    with pytest.raises(InvalidSession, match="not a valid Secret name"):
        Session.from_object(cr(annotations={contract.SECRET_NAME_ANNOTATION: ""}))


@pytest.mark.parametrize("key", sorted(RESERVED_ENV))
def test_spec_env_cannot_override_the_token_contract(key: str) -> None:
    with pytest.raises(InvalidSession, match=f"may not set {key}"):
        Session.from_object(cr(spec={"env": {key: "x"}}))


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"1BAD": "x"}, "not a valid environment variable name"),
        ({"A=B": "x"}, "not a valid environment variable name"),
        ({"COUNT": 5}, r"spec.env\[COUNT\] must be a string"),
        (["A=1"], "spec.env must be an object"),
    ],
)
def test_spec_env_must_be_a_map_of_strings(env: object, message: str) -> None:
    with pytest.raises(InvalidSession, match=message):
        Session.from_object(cr(spec={"env": env}))


def test_spec_env_is_kept_sorted_and_exact() -> None:
    session = Session.from_object(cr(spec={"env": {"RUNNER_MESSAGES": "10", "A_FIRST": " spaced "}}))
    assert session.env == (("A_FIRST", " spaced "), ("RUNNER_MESSAGES", "10"))


@pytest.mark.parametrize("value", [-1, True, "3", 1.5])
def test_backoff_limit_must_be_a_non_negative_integer(value: object) -> None:
    with pytest.raises(InvalidSession, match="backoffLimit must be a non-negative integer"):
        Session.from_object(cr(spec={"backoffLimit": value}))


def test_missing_uid_is_rejected_because_owner_references_need_it() -> None:
    with pytest.raises(InvalidSession, match="uid"):
        Session.from_object(cr(uid=""))


def test_owner_reference_points_at_the_cr_as_controller() -> None:
    ref = Session.from_object(cr(uid="abc")).owner_reference()
    assert ref == {
        "apiVersion": "vteam.ambient-code/v1alpha1",
        "kind": "AgenticSession",
        "name": "s1",
        "uid": "abc",
        "controller": True,
        "blockOwnerDeletion": True,
    }
