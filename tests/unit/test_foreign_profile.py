"""The foreign ambient implementation's profile (tests/foreign/ambient_operator/profile.toml) loads, and
binds the catalogue the way its README says it can be judged.

Skipped until the foreign implementation (branch ``foreign``) is in the tree: the profile names its
CRD, RBAC and runner code, which the loader checks exist.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from longhaul.capabilities import Capability
from longhaul.contract import Contract
from longhaul.profiles import load_profile
from longhaul.profiles.capabilities import offered
from longhaul.scenarios.binding import Unrunnable, bind
from longhaul.scenarios.catalog import FAST_TIER, REALTIME_TIER

PROFILE = Path(__file__).resolve().parents[1] / "foreign" / "ambient_operator" / "profile.toml"
pytestmark = pytest.mark.skipif(
    not (PROFILE.parent / "manifests" / "crd.yaml").exists(), reason="the foreign implementation is not here"
)


def test_the_foreign_profile_loads_and_offers_what_its_readme_says() -> None:
    p = load_profile(PROFILE)
    assert p.operator.scope == "cluster" and p.workload.kind == "Pod" and p.workload.discovery == "owner"
    assert set(p.deliveries) == {Contract.UPSTREAM}
    assert p.runner.protocol == "opaque" and p.backend.reach == "service"
    assert p.runner.code == ((PROFILE.parents[1] / "ambient_runner").resolve(),)
    have = offered(p)
    assert Capability.SETTABLE_REFRESH in have and Capability.RESTART_OPERATOR in have
    assert Capability.RUNNER_COMMAND not in have and Capability.TOKEN_AUDIENCE not in have
    assert Capability.WIRE_PROTOCOL not in have


def test_which_scenarios_judge_it() -> None:
    p = load_profile(PROFILE)
    runs = {s.name for s in (*FAST_TIER, *REALTIME_TIER) if not isinstance(bind(s, p), Unrunnable)}
    assert {
        "upstream-contract-survives-rotations",
        "missing-file-fails-fast-absent",
        "missing-file-fails-fast-empty",
        "missing-file-fails-fast-directory",
        "token-secret-deleted-and-recreated",
        "runner-pod-deleted",
        "operator-restarted-mid-session",
        "refresh-stalled-fails-loudly",
        "realtime-session-survives-declared-refresh",
    } <= runs
    assert "long-session-survives-rotations" not in runs  # BOT_TOKEN_PATH delivery: not this operator's
    assert "legacy-env-fallback" not in runs and "token-audience-honoured" not in runs
