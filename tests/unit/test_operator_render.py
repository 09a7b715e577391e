"""Job/Secret/SA/Role rendering invariants over arbitrary valid sessions, per token contract."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from longhaul import contract
from longhaul.contract import Contract
from longhaul.tokens import fingerprint
from operator_stub import render
from operator_stub.session import MAX_SESSION_NAME, RESERVED_ENV, Session, is_dns_subdomain
from operator_stub.token_secret import MintedToken, parse_rfc3339

DNS_LABEL = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\Z", fullmatch=True)


def dns_subdomains(max_len: int) -> st.SearchStrategy[str]:
    return st.lists(DNS_LABEL, min_size=1, max_size=4).map(".".join).filter(lambda s: len(s) <= max_len)


SESSION_NAMES = dns_subdomains(MAX_SESSION_NAME)
ENV_NAMES = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,30}\Z", fullmatch=True).filter(
    lambda n: n not in RESERVED_ENV
)
TOKENS = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.", min_size=24)
TEMPLATES = st.builds(
    render.RunnerTemplate,
    mode=st.sampled_from(Contract),
    websocket_base=st.sampled_from(["ws://198.18.0.1:8765", "wss://backend.example:443", "ws://[::1]:1"]),
    command=st.none() | st.lists(st.text(min_size=1, max_size=10), max_size=3).map(tuple),
    image_pull_policy=st.sampled_from(["Always", "IfNotPresent", "Never"]),
    backoff_limit=st.integers(0, 20),
)


@st.composite
def session_objects(draw: st.DrawFn) -> dict[str, Any]:
    annotations = draw(st.dictionaries(st.sampled_from(["a.io/x", "note"]), st.text(max_size=8), max_size=2))
    if draw(st.booleans()):
        annotations[contract.SECRET_NAME_ANNOTATION] = draw(dns_subdomains(253))
    spec: dict[str, Any] = {"env": draw(st.dictionaries(ENV_NAMES, st.text(max_size=40), max_size=5))}
    if draw(st.booleans()):
        spec["backoffLimit"] = draw(st.integers(0, 100))
    return {
        "apiVersion": f"{contract.GROUP}/{contract.VERSION}",
        "kind": contract.KIND,
        "metadata": {
            "namespace": draw(DNS_LABEL),
            "name": draw(SESSION_NAMES),
            "uid": str(draw(st.uuids())),
            "annotations": annotations,
        },
        "spec": spec,
    }


def walk(node: object) -> Iterator[tuple[str, object]]:
    """Every (key, value) pair anywhere in a manifest."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield key, value
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


def env_of(job: dict[str, Any]) -> dict[str, dict[str, Any]]:
    (container,) = job["spec"]["template"]["spec"]["containers"]
    names = [entry["name"] for entry in container["env"]]
    assert len(names) == len(set(names)), f"duplicate env names: {names}"
    return {entry["name"]: entry for entry in container["env"]}


LONGEST = "a" * MAX_SESSION_NAME


@settings(max_examples=100, deadline=None)
@given(obj=session_objects(), template=TEMPLATES)
@example(
    obj={"metadata": {"namespace": "n", "name": LONGEST, "uid": "u", "annotations": {}}, "spec": {"env": {}}},
    template=render.RunnerTemplate(mode=Contract.BOT_TOKEN_PATH, websocket_base="ws://h:1"),
)
def test_job_invariants_hold_for_every_session_and_contract(obj: dict[str, Any], template: Any) -> None:
    session = Session.from_object(obj)
    job = render.job(session, template)
    assert job == render.job(Session.from_object(obj), template), "rendering must be deterministic"
    pod = job["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = env_of(job)

    assert not [k for k, _ in walk(job) if k in ("subPath", "subPathExpr")], "a subPath mount never updates"
    assert all(mount["readOnly"] is True for mount in container["volumeMounts"])
    assert pod["automountServiceAccountToken"] is False
    assert pod["serviceAccountName"] == contract.service_account_name(session.name)
    assert pod["restartPolicy"] == "Never"
    assert job["metadata"]["name"] == contract.job_name(session.name)
    assert len(job["metadata"]["name"]) <= 63 and is_dns_subdomain(job["metadata"]["name"])
    assert job["metadata"]["ownerReferences"] == [session.owner_reference()]
    assert job["metadata"]["ownerReferences"][0]["uid"] == obj["metadata"]["uid"]
    assert pod.get("volumes", []) == [] or len(pod["volumes"]) == 1
    assert job["spec"]["template"]["metadata"]["labels"][contract.SESSION_LABEL] == session.name
    backoff = obj["spec"].get("backoffLimit", template.backoff_limit)
    assert job["spec"]["backoffLimit"] == backoff

    ws_path = f"/api/projects/{session.namespace}/sessions/{session.name}/ws"
    assert env[contract.ENV_WEBSOCKET_URL]["value"] == template.websocket_base + ws_path
    assert env[contract.ENV_SESSION_NAME]["value"] == session.name
    assert env[contract.ENV_SESSION_NAMESPACE]["value"] == session.namespace
    for key, value in obj["spec"]["env"].items():
        assert env[key] == {"name": key, "value": value}
    if template.command is None:
        assert "command" not in container
    else:
        assert container["command"] == list(template.command)

    expected_secret = obj["metadata"]["annotations"].get(
        contract.SECRET_NAME_ANNOTATION, contract.secret_name(session.name)
    )
    if template.mode is Contract.LEGACY_ENV:
        assert "volumes" not in pod or pod["volumes"] == []
        assert container["volumeMounts"] == []
        assert contract.ENV_BOT_TOKEN_PATH not in env
        assert contract.ENV_RUNNER_CONTRACT not in env
        ref = env[contract.ENV_BOT_TOKEN]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": expected_secret, "key": contract.TOKEN_SECRET_KEY}
        return

    (volume,) = pod["volumes"]
    (mount,) = container["volumeMounts"]
    assert contract.ENV_BOT_TOKEN not in env, "BOT_TOKEN belongs to the legacy contract only"
    assert volume["name"] == mount["name"] == contract.TOKEN_VOLUME_NAME
    assert volume["secret"]["secretName"] == expected_secret
    assert env[contract.ENV_RUNNER_CONTRACT]["value"] == template.mode.value
    if template.mode is Contract.BOT_TOKEN_PATH:
        assert mount["mountPath"] == "/app/runner-token"
        assert "items" not in volume["secret"]
        assert env[contract.ENV_BOT_TOKEN_PATH]["value"] == "/app/runner-token/k8s-token"
    else:
        assert mount["mountPath"] == "/var/run/secrets/ambient"
        assert volume["secret"]["items"] == [{"key": "k8s-token", "path": "bot-token"}]
        assert contract.ENV_BOT_TOKEN_PATH not in env


@settings(max_examples=75, deadline=None)
@given(obj=session_objects(), token=TOKENS, minted_at=st.datetimes(timezones=st.just(UTC)))
def test_secret_carries_token_and_annotations_but_no_plain_token_elsewhere(
    obj: dict[str, Any], token: str, minted_at: datetime
) -> None:
    session = Session.from_object(obj)
    minted = MintedToken(token, minted_at, minted_at + timedelta(hours=1), "sa-uid-1")
    secret = render.secret(session, minted)
    meta = secret["metadata"]

    assert secret["type"] == "Opaque"
    assert base64.b64decode(secret["data"][contract.TOKEN_SECRET_KEY]).decode() == token
    assert meta["name"] == obj["metadata"]["annotations"].get(
        contract.SECRET_NAME_ANNOTATION, contract.secret_name(session.name)
    )
    assert meta["ownerReferences"] == [session.owner_reference()]
    assert meta["labels"][contract.SESSION_LABEL] == session.name
    annotations = meta["annotations"]
    refreshed = parse_rfc3339(annotations[contract.REFRESHED_AT_ANNOTATION])
    assert refreshed == minted_at.replace(microsecond=0)
    assert annotations["ambient-code.io/token-fingerprint"] == fingerprint(token)
    assert token not in repr(minted)
    visible = {k: v for k, v in secret.items() if k != "data"}
    assert token not in repr(visible), "the token may live only under data"


@settings(max_examples=50, deadline=None)
@given(obj=session_objects())
def test_rbac_children_are_least_privilege_and_owned(obj: dict[str, Any]) -> None:
    session = Session.from_object(obj)
    sa, role, binding = render.service_account(session), render.role(session), render.role_binding(session)
    for child in (sa, role, binding):
        assert child["metadata"]["ownerReferences"] == [session.owner_reference()]
        assert child["metadata"]["namespace"] == session.namespace
        assert child["metadata"]["labels"][contract.SESSION_LABEL] == session.name
    assert sa["metadata"]["name"] == f"ambient-session-{session.name}"
    assert sa["automountServiceAccountToken"] is False
    # The backend's SelfSubjectAccessReview: list agenticsessions.vteam.ambient-code in the namespace.
    list_rule, status_rule = role["rules"]
    assert list_rule == {"apiGroups": ["vteam.ambient-code"], "resources": ["agenticsessions"],
                         "verbs": ["get", "list", "watch"]}  # fmt: skip
    assert status_rule["resourceNames"] == [session.name], "a runner may touch only its own status"
    assert not [v for rule in role["rules"] for v in rule["verbs"] if v in ("create", "delete", "*")]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": sa["metadata"]["name"], "namespace": session.namespace}
    ]


def test_every_rendered_name_is_a_valid_kubernetes_name_for_the_longest_session() -> None:
    session = Session.from_object({"metadata": {"namespace": "ns", "name": LONGEST, "uid": "u"}})
    names = [session.service_account_name, session.secret_name, session.job_name, session.role_name]
    assert all(is_dns_subdomain(n) for n in names)
    assert len(session.job_name) == 63
    assert re.fullmatch(
        r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?", render.labels(session)[contract.SESSION_LABEL]
    )
