"""Runner pods by ownership or label, each an incarnation by UID; the runner's container among sidecars."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace as NS
from typing import Any

from longhaul.fixtures.kube.discovery import label_selector, owned_pods
from longhaul.fixtures.kube.pods import state_of
from longhaul.profiles.schema import Workload

SESSION_UID = "uid-session"


def obj(name: str, uid: str, owners: list[str], created: int = 0) -> Any:
    meta = NS(
        name=name,
        uid=uid,
        owner_references=[NS(uid=o) for o in owners],
        creation_timestamp=datetime.fromtimestamp(1_700_000_000 + created, UTC),
    )
    return NS(metadata=meta)


def test_bare_pods_owned_by_the_session() -> None:
    pods = [
        obj("s-runner", "p2", [SESSION_UID], 5),
        obj("s-runner", "p1", [SESSION_UID], 1),
        obj("x", "p3", ["other"]),
    ]
    found = owned_pods(pods, [], SESSION_UID)
    # the same name twice: two incarnations, oldest first, told apart by UID
    assert [(p.metadata.name, p.metadata.uid) for p in found] == [("s-runner", "p1"), ("s-runner", "p2")]


def test_pods_of_a_job_the_session_owns() -> None:
    jobs = [obj("s-job", "job-1", [SESSION_UID]), obj("other-job", "job-2", ["someone"])]
    pods = [obj("s-job-abc", "p1", ["job-1"]), obj("other-job-x", "p2", ["job-2"])]
    assert [p.metadata.uid for p in owned_pods(pods, jobs, SESSION_UID)] == ["p1"]


def test_label_selector_template() -> None:
    assert (
        label_selector(Workload("Pod", "label", "agentic-session={session}"), "s-1") == "agentic-session=s-1"
    )
    assert label_selector(Workload("Job", "label", "job-name={session}-job"), "s-1") == "job-name=s-1-job"


def _status(name: str, exit_code: int | None) -> Any:
    terminated = (
        NS(exit_code=exit_code, reason="Error" if exit_code else "Completed")
        if exit_code is not None
        else None
    )
    running = None if terminated else NS(started_at=None)
    return NS(name=name, state=NS(terminated=terminated, waiting=None, running=running))


def test_the_runner_container_decides_among_sidecars() -> None:
    pod = NS(
        metadata=NS(name="s-runner"),
        status=NS(
            phase="Running", container_statuses=[_status("sidecar", None), _status("ambient-code-runner", 1)]
        ),
    )
    state = state_of(pod, "ambient-code-runner")
    assert (state.phase, state.exit_code) == (
        "Failed",
        1,
    )  # its runner exited: a sidecar keeps the pod Running
    assert state_of(pod, "sidecar").exit_code is None
    single = NS(metadata=NS(name="j"), status=NS(phase="Running", container_statuses=[_status("runner", 0)]))
    assert state_of(single).phase == "Running"  # without a container name: the pod's own phase, as before
