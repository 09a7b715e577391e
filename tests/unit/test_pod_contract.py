"""The pod-spec check of the token contract: silent on the reference rendering, loud on each deviation."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from longhaul.contract import Contract
from longhaul.scenarios.evidence import Evidence, RunnerRun
from longhaul.scenarios.expectations import PodSpecFollowsContract
from longhaul.scenarios.pod_contract import pod_spec_problems
from operator_stub import render
from operator_stub.session import Session

SESSION = Session(namespace="ns", name="s-1", uid="uid-1", secret_name="ambient-runner-token-s-1")


def pod_spec(mode: Contract) -> dict[str, Any]:
    job = render.job(SESSION, render.RunnerTemplate(mode=mode, websocket_base="ws://198.18.0.1:1"))
    return copy.deepcopy(job["spec"]["template"]["spec"])


@pytest.mark.parametrize("mode", list(Contract))
def test_the_reference_rendering_follows_its_contract(mode: Contract) -> None:
    assert pod_spec_problems(pod_spec(mode), mode) == []


def _mount(spec: dict[str, Any]) -> dict[str, Any]:
    mount: dict[str, Any] = spec["containers"][0]["volumeMounts"][0]
    return mount


@pytest.mark.parametrize(
    ("mode", "change", "expected"),
    [
        (Contract.BOT_TOKEN_PATH, lambda s: _mount(s).update(subPath="k8s-token"), "subPath"),
        (Contract.UPSTREAM, lambda s: _mount(s).update(subPath="bot-token"), "subPath"),
        (Contract.BOT_TOKEN_PATH, lambda s: _mount(s).update(readOnly=False), "writable"),
        (Contract.BOT_TOKEN_PATH, lambda s: _mount(s).pop("readOnly"), "writable"),
        (Contract.BOT_TOKEN_PATH, lambda s: _mount(s).update(mountPath="/tmp/t"), "not /app/runner-token"),
        (Contract.BOT_TOKEN_PATH, lambda s: s.update(automountServiceAccountToken=True), "automount"),
        (Contract.LEGACY_ENV, lambda s: s.pop("automountServiceAccountToken"), "automount"),
        (Contract.BOT_TOKEN_PATH, lambda s: s["containers"][0]["env"].clear(), "BOT_TOKEN_PATH=None"),
        (Contract.BOT_TOKEN_PATH, lambda s: s["volumes"].clear(), "no Secret volume"),
        (Contract.BOT_TOKEN_PATH, lambda s: s["containers"][0].pop("volumeMounts"), "not mounted"),
        (Contract.UPSTREAM, lambda s: s["volumes"][0]["secret"].pop("items"), "does not map"),
        (Contract.LEGACY_ENV, lambda s: s["containers"][0]["env"].clear(), "BOT_TOKEN"),
        (
            Contract.BOT_TOKEN_PATH,
            lambda s: s["containers"][0]["volumeMounts"].append(
                {"name": "kube-api-access-x", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
            ),
            "API server's own token",
        ),
    ],
)
def test_each_deviation_is_named(mode: Contract, change: Any, expected: str) -> None:
    spec = pod_spec(mode)
    change(spec)
    problems = pod_spec_problems(spec, mode)
    assert any(expected in p for p in problems), problems


def test_the_expectation_names_the_pod_and_needs_one() -> None:
    spec = pod_spec(Contract.BOT_TOKEN_PATH)
    spec["automountServiceAccountToken"] = True
    evidence = Evidence("x", "ns", "s-1", started=0.0)
    expectation = PodSpecFollowsContract(Contract.BOT_TOKEN_PATH)
    assert expectation.problems(evidence) == ["no runner pod observed ()"]
    evidence.runs = [RunnerRun("pod-a", "Succeeded", 0, 1.0, 2.0, "", spec)]
    assert [p.split(":")[0] for p in expectation.problems(evidence)] == ["pod pod-a"]
