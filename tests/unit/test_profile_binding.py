"""Capabilities decide scenarios: what a profile offers, skip reasons, not-judged expectations, paths."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from longhaul.capabilities import Capability
from longhaul.contract import Contract
from longhaul.profiles import load_profile, load_reference, reference_profile_path
from longhaul.profiles.capabilities import lacking_reason, offered
from longhaul.profiles.schema import Profile
from longhaul.scenarios.binding import BACKEND_END, Unrunnable, bind
from longhaul.scenarios.catalog import (
    AUDIENCE_HONOURED,
    FAILS_FAST,
    FAST_TIER,
    LEGACY_ENV_FALLBACK,
    LONG_SESSION,
    REALTIME_LONG_SESSION,
    SOAK_TIER,
)
from longhaul.scenarios.expectations import (
    ExactlyOnceDelivery,
    FailFastLogLine,
    PodSpecFollowsContract,
    RunnerExit,
    SessionFinished,
)
from longhaul.scenarios.model import Scenario


def foreign(tmp_path: Path, **replacements: str) -> Profile:
    """The reference profile rewritten as an implementation with fewer abilities."""
    text = reference_profile_path().read_text()
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "foreign.toml"
    path.write_text(text)
    return load_profile(path)


UPSTREAM_ONLY = {
    (
        '[token.bot-token-path]\nvolume = "runner-token"\nmount_dir = "/app/runner-token"\n'
        'path_env = "BOT_TOKEN_PATH"\n'
    ): "",
    '[token.legacy-env]\nlegacy_env = "BOT_TOKEN"\n': "",
    '    "--mode", "{mode}",\n': "",
    'runner_command = ["--runner-command", "{runner_command}"]\n': "",
    'token_audience = ["--token-audience", "{token_audience}"]\n': "",
    'protocol = "longhaul-wire"': 'protocol = "opaque"',
    "fail_fast = 66\ngave_up = 75\n": "",
    'name = "reference"': 'name = "ambient"',
}


def test_every_scenario_binds_to_the_reference_unchanged_but_for_paths() -> None:
    reference = load_reference()
    assert offered(reference) >= {
        Capability.RUNNER_COMMAND,
        Capability.TOKEN_AUDIENCE,
        Capability.SETTABLE_REFRESH,
        Capability.WIRE_PROTOCOL,
        Capability.RESTART_OPERATOR,
    }
    for scenario in (*FAST_TIER, *SOAK_TIER):
        bound = bind(scenario, reference)
        assert isinstance(bound, Scenario), scenario.name
        assert bound.not_judgeable == {}
        assert bound.contract is scenario.contract
        assert bound.timings == scenario.timings
        assert [type(e) for e in bound.expect] == [type(e) for e in scenario.expect]
        for before, after in zip(scenario.expect, bound.expect, strict=True):
            if isinstance(before, RunnerExit):
                assert after == before  # 66/75/78/143 exactly
    absent = bind(FAILS_FAST[0], reference)
    assert isinstance(absent, Scenario) and absent.runner is not None
    assert absent.runner.command == "BOT_TOKEN_PATH=/app/runner-token/absent exec {runner}"
    assert absent.runner.env == {}
    assert FailFastLogLine("/app/runner-token/absent", "absent") in absent.expect


def test_missing_capabilities_skip_with_the_reason(tmp_path: Path) -> None:
    ambient = foreign(tmp_path, **UPSTREAM_ONLY)
    assert Capability.RUNNER_COMMAND not in offered(ambient)
    assert Capability.DELIVER_BOT_TOKEN_PATH not in offered(ambient)
    skipped = bind(LONG_SESSION, ambient)
    assert isinstance(skipped, Unrunnable)
    assert "implementation 'ambient' (profile foreign.toml) cannot" in skipped.reason
    assert str(Capability.DELIVER_BOT_TOKEN_PATH) in skipped.reason
    legacy = bind(LEGACY_ENV_FALLBACK, ambient)
    assert isinstance(legacy, Unrunnable) and str(Capability.DELIVER_LEGACY_ENV) in legacy.reason
    audience = bind(AUDIENCE_HONOURED, ambient)
    assert isinstance(audience, Unrunnable) and str(Capability.TOKEN_AUDIENCE) in audience.reason
    # an unreadable file needs a shell in the runner container (chmod, another user): a runner command
    unreadable = bind(FAILS_FAST[3], ambient)
    assert isinstance(unreadable, Unrunnable) and str(Capability.RUNNER_COMMAND) in unreadable.reason
    empty = bind(FAILS_FAST[1], ambient)  # said as env alone: /dev/null
    assert isinstance(empty, Scenario) and empty.runner is not None
    assert empty.runner.env == {"BOT_TOKEN_PATH": "/dev/null"}


def test_fail_fast_by_session_env_for_an_operator_without_a_runner_command(tmp_path: Path) -> None:
    ambient = foreign(tmp_path, **UPSTREAM_ONLY)
    absent = bind(FAILS_FAST[0], ambient)
    assert isinstance(absent, Scenario) and absent.runner is not None
    assert absent.contract is Contract.UPSTREAM  # the scenario sets BOT_TOKEN_PATH itself
    assert absent.runner.command == ""
    assert absent.runner.env == {"BOT_TOKEN_PATH": "/var/run/secrets/ambient/absent"}
    assert FailFastLogLine("/var/run/secrets/ambient/absent", "absent") in absent.expect
    exit_rule = next(e for e in absent.expect if isinstance(e, RunnerExit))
    assert exit_rule.code is None  # no exact code promised: any non-zero one


def test_opaque_protocol_lists_delivery_as_not_judged(tmp_path: Path) -> None:
    ambient = foreign(tmp_path, **UPSTREAM_ONLY)
    bound = bind(REALTIME_LONG_SESSION, ambient)
    assert isinstance(bound, Scenario)
    assert ExactlyOnceDelivery().label in bound.not_judgeable
    assert "no numbered events or acks" in bound.not_judgeable[ExactlyOnceDelivery().label]
    assert BACKEND_END in bound.not_judgeable
    assert not any(isinstance(e, ExactlyOnceDelivery) for e in bound.expect)
    finished = next(e for e in bound.expect if isinstance(e, SessionFinished))
    assert finished.backend_end is False
    # the not-judged expectations reach the verdict, never as passed
    from longhaul.scenarios.evidence import Evidence

    verdict = bound.judge(Evidence(bound.name, "ns", "s", started=0.0))
    assert ExactlyOnceDelivery().label in verdict.not_judged


def test_realtime_tier_is_sized_from_the_declared_timing(tmp_path: Path) -> None:
    fixed = foreign(
        tmp_path,
        **{
            'mode = "settable"': 'mode = "fixed"',
            '    "--refresh-interval", "{refresh_threshold_s}s",\n': "",
            "refresh_threshold_s = 420": "refresh_threshold_s = 2700",
            "token_lifetime_s = 600": "token_lifetime_s = 3600",
        },
    )
    assert Capability.SETTABLE_REFRESH not in offered(fixed)
    long_session = bind(LONG_SESSION, fixed)
    assert isinstance(long_session, Unrunnable) and str(Capability.SETTABLE_REFRESH) in long_session.reason
    bound = bind(REALTIME_LONG_SESSION, fixed)
    assert isinstance(bound, Scenario)
    assert bound.timings.refresh_every == 2700 and bound.timings.token_lifetime == 3600
    assert bound.timings.duration >= 3 * 2700 and bound.timings.max_token_age is None


def test_pod_spec_expectation_takes_the_profiles_delivery(tmp_path: Path) -> None:
    ambient = foreign(tmp_path, **UPSTREAM_ONLY)
    bound = PodSpecFollowsContract(Contract.UPSTREAM).for_profile(ambient)
    assert isinstance(bound, PodSpecFollowsContract) and bound.delivery is not None
    assert bound.delivery.item == "bot-token"
    assert "delivers no bot-token-path" in str(
        PodSpecFollowsContract(Contract.BOT_TOKEN_PATH).for_profile(ambient)
    )


def test_restart_needs_a_restartable_operator(tmp_path: Path) -> None:
    frozen = foreign(tmp_path, **{"restartable = true": "restartable = false"})
    restarted = next(s for s in FAST_TIER if s.name == "operator-restarted-mid-session")
    result = bind(restarted, frozen)
    assert isinstance(result, Unrunnable) and str(Capability.RESTART_OPERATOR) in result.reason
    assert lacking_reason(frozen, {Capability.LOAD_IMAGES}) is None  # a cluster's, not a profile's
    assert dataclasses.replace(frozen, name="x").name == "x"


def test_binding_twice_changes_nothing(tmp_path: Path) -> None:
    """The engine binds what it is given (a caller may pass a catalogue scenario), the test binds first."""
    for profile in (load_reference(), foreign(tmp_path, **UPSTREAM_ONLY)):
        for scenario in (*FAST_TIER, *SOAK_TIER, REALTIME_LONG_SESSION):
            once = bind(scenario, profile)
            if isinstance(once, Scenario):
                assert bind(once, profile) == once, scenario.name
