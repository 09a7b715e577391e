"""A scenario bound to one implementation's profile: what it needs, what can be judged, its real paths.

Scenarios are written once, against behaviour; implementations differ in what
they can be asked to do (take a runner command, mint for an audience, refresh
within seconds) and in what longhaul can observe of them (a runner speaking
its own protocol has no acks to count).  :func:`bind` turns a catalogue
scenario into the one to run against a profile, or says why it cannot run:

* a capability the profile lacks -> :class:`Unrunnable` with a reason (the test is skipped);
* an expectation the profile makes unjudgeable -> listed in ``Scenario.not_judgeable``
  with the reason (reported as not judged, never as passed);
* templates (``{token_dir}``, ``{token_file}``) and exit codes -> the profile's;
* the real-time tier -> timings sized from the profile's declared refresh.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from longhaul.capabilities import Capability
from longhaul.profiles.capabilities import DELIVERY, lacking_reason, offered
from longhaul.profiles.schema import Profile, Timing
from longhaul.profiles.templates import render
from longhaul.scenarios.expectations import NOT_WIRE_END, FailFastLogLine, SessionFinished, token_paths
from longhaul.scenarios.model import Expectation, RunnerOverride, Scenario, Timings, s

BACKEND_END = "backend recorded the session's end"


@dataclass(frozen=True)
class Unrunnable:
    """The scenario cannot run against this implementation, and why."""

    reason: str


def requirements(scenario: Scenario) -> set[Capability]:
    """What a scenario asks of the implementation beyond its own ``needs``."""
    needs = set(scenario.needs)
    if scenario.tier in ("fast", "soak"):
        needs.add(Capability.SETTABLE_REFRESH)  # its timings are set, not the implementation's own
    if scenario.audiences is not None:
        needs.add(Capability.TOKEN_AUDIENCE)
    for fault in scenario.faults:
        needs |= set(getattr(fault, "needs", ()))
    return needs


def realtime_timings(timing: Timing) -> Timings:
    """Long enough for at least three refreshes at the declared threshold, with the token's own ``exp``
    deciding (the backend closes each connection at it): 7 of 10 minutes gives about 25 minutes."""
    threshold = timing.refresh_threshold_s
    return Timings(
        refresh_every=threshold,
        token_lifetime=timing.token_lifetime_s,
        max_token_age=None,
        duration=3.5 * threshold,
        message_interval=s(5),
        give_up_after=s(120),
        settle=max(s(300), float(timing.token_lifetime_s) - threshold),
    )


def _override(scenario: Scenario, profile: Profile, paths: dict[str, str]) -> RunnerOverride | str | None:
    """The runner override the profile can carry out, or a reason it can carry out none."""
    o = scenario.runner
    if o is None:
        return None
    have = offered(profile)
    if o.command and Capability.RUNNER_COMMAND in have:
        return replace(o, command=render(o.command, {**paths, "runner": "{runner}"}), env={})
    if o.env and Capability.SESSION_ENV in have:
        return replace(o, command="", env={k: render(v, paths) for k, v in o.env.items()})
    return lacking_reason(profile, {Capability.RUNNER_COMMAND}) or "no way to override the runner"


def bind(scenario: Scenario, profile: Profile) -> Scenario | Unrunnable:
    others = sorted(scenario.accepts_contracts - {scenario.contract}, key=lambda c: c.value)
    contracts = [scenario.contract, *others]
    contract = next((c for c in contracts if c in profile.deliveries), scenario.contract)
    needs = requirements(scenario) | {DELIVERY[contract]}
    missing = lacking_reason(profile, needs)
    if missing:
        return Unrunnable(missing)
    paths = token_paths(profile, contract)
    runner = _override(scenario, profile, paths)
    if isinstance(runner, str):
        return Unrunnable(runner)
    expect: list[Expectation] = []
    not_judgeable = dict(scenario.not_judgeable)
    for e in scenario.expect:
        bound = e.for_profile(profile) if hasattr(e, "for_profile") else e
        if isinstance(bound, FailFastLogLine):
            bound = bound.with_paths(paths)
        if isinstance(bound, str):
            not_judgeable[e.label] = bound
            continue
        if isinstance(bound, SessionFinished) and not bound.backend_end:
            not_judgeable[BACKEND_END] = NOT_WIRE_END.format(
                protocol=profile.runner.protocol, profile=profile.name
            )
        expect.append(bound)
    timings = realtime_timings(profile.timing) if scenario.tier == "realtime" else scenario.timings
    return replace(
        scenario,
        contract=contract,
        runner=runner,
        expect=tuple(expect),
        not_judgeable=not_judgeable,
        timings=timings,
    )
