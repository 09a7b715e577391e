"""What a scenario is: data that says what happens and what must hold.

A scenario never says *how* to poll or where logs live; the runner in
``fixtures/scenario_run.py`` turns it into actions on a real cluster and
collects :class:`~longhaul.scenarios.evidence.Evidence`, and each expectation judges
that evidence.  The same scenario runs on every provider and, with other
``Timings``, in the fast and the soak tier.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from longhaul.capabilities import Capability
from longhaul.contract import Contract

# fast: seconds-long refreshes (needs a settable refresh); soak: real 600 s tokens, refresh set to 240 s;
# realtime: the implementation's own declared refresh timing, sized to see 3 rotations (nightly).
Tier = Literal["fast", "soak", "realtime"]
# A scenario's kind is also a pytest marker: `-m failfast`, `-m "fault and fast"`.
Kind = Literal["rotation", "fallback", "failfast", "fault"]
# How the session ends: the backend's ledger says finished, or the runner pod terminates.
EndsWith = Literal["finished", "runner-exit"]

if TYPE_CHECKING:
    from longhaul.scenarios.evidence import Evidence
    from longhaul.scenarios.faults import PlatformControls


def s(seconds: float) -> float:
    """Seconds, spelled out where a scenario reads like a sentence: ``refresh_every=s(4)``."""
    return float(seconds)


def minutes(value: float) -> float:
    return float(value) * 60.0


@dataclass(frozen=True)
class Timings:
    """Every clock in a scenario.

    ``max_token_age`` is the backend's policy: it compresses a real token's
    lifetime into seconds (the API server still validates the token), so a
    fast run sees many rotations.  ``None`` means the token's own ``exp``
    decides, as in the soak tier with real 600 s tokens.
    """

    refresh_every: float
    duration: float  # how long the runner keeps producing messages
    max_token_age: float | None = None
    token_lifetime: int = 600  # TokenRequest expirationSeconds (API minimum: 600)
    check_period: float = 1.0  # operator reconcile period
    message_interval: float = 0.5
    give_up_after: float = 20.0  # runner: seconds offline before exiting 75
    settle: float = 90.0  # extra time allowed on top of duration for the session to end

    @property
    def messages(self) -> int:
        return max(1, int(self.duration / self.message_interval))

    @property
    def deadline(self) -> float:
        return self.duration + self.settle


class Fault(Protocol):
    """Something done to the platform ``at`` seconds after the runner first connected (the session is up)."""

    @property
    def at(self) -> float: ...

    @property
    def label(self) -> str: ...

    def apply(self, platform: PlatformControls) -> None: ...


class Expectation(Protocol):
    """A property of the evidence; returns the problems found (empty: it holds)."""

    @property
    def label(self) -> str: ...

    def problems(self, evidence: Evidence) -> list[str]: ...


@runtime_checkable
class DecidedEarly(Protocol):
    """An expectation that can tell, while the session still runs, that it has already failed for good.

    ``violated`` sees the evidence collected so far (runner pods without their
    logs, the ledger, the rotations) and the time ``now``; it returns problems
    only when nothing that could still happen would make ``problems`` empty at
    the end (a handshake that must never happen has happened; a pod spec, which
    is immutable, is wrong; a bound has passed).  The engine then ends the run
    at once instead of at the deadline: a verdict a developer does not wait for.
    """

    def violated(self, evidence: Evidence, now: float) -> list[str]: ...


@dataclass(frozen=True)
class RunnerOverride:
    """Run the runner another way (e.g. to point BOT_TOKEN_PATH elsewhere).

    ``command`` is a shell line run with ``/bin/sh -c`` (it needs an operator
    that takes a runner command); ``env``, when the same set-up can be said as
    environment alone, is the way for an operator that only passes the session's
    environment through.  Both are templates: ``{runner}`` (the runner under
    test), ``{token_dir}`` and ``{token_file}`` (where the profile's delivery
    puts the token), filled when the scenario is bound to a profile.
    """

    command: str  # shell command line, run with /bin/sh -c; "" when only env applies
    why: str
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Audiences:
    """Token audiences, when a scenario needs them: the one the backend requires and the one the
    operator is told to request (``--token-audience``).

    With audiences set the backend verifies tokens against the cluster's published key set
    (``--auth jwks --audience``) instead of an access review: an access review judges a token
    by the API server's own audiences and would reject any other before the backend could.
    """

    backend: str
    operator: str


@dataclass(frozen=True)
class Scenario:
    name: str
    contract: Contract
    timings: Timings
    expect: Sequence[Expectation]
    faults: Sequence[Fault] = ()
    runner: RunnerOverride | None = None
    audiences: Audiences | None = None
    ends_with: EndsWith = "finished"
    needs: frozenset[Capability] = field(default_factory=frozenset)
    tier: Tier = "fast"
    kind: Kind = "rotation"
    description: str = ""
    # Expectations the implementation under test cannot be judged on (label -> why), set when the
    # scenario is bound to a profile (longhaul.scenarios.binding): reported as not judged, never passed.
    not_judgeable: Mapping[str, str] = field(default_factory=dict)
    # Other token contracts under which the scenario means the same (e.g. a fail-fast scenario sets
    # BOT_TOKEN_PATH itself, whatever the operator mounts): used when the profile lacks ``contract``.
    accepts_contracts: frozenset[Contract] = frozenset()

    @property
    def disrupts_cluster(self) -> bool:
        """Restarting a control-plane component breaks every scenario running beside it on the
        shared cluster, so such a scenario must run alone."""
        return Capability.RESTART_COMPONENTS in self.needs

    @property
    def wants_runner_clock(self) -> bool:
        """An expectation bounds the runner's run time finer than a container's 1 s timestamps
        (see :mod:`longhaul.scenarios.runner_clock`): the engine wraps the runner in the clock."""
        return any(getattr(e, "wants_runner_clock", False) for e in self.expect)

    def decided(self, evidence: Evidence, now: float) -> dict[str, list[str]]:
        """The expectations that have already failed for good (see :class:`DecidedEarly`)."""
        return {
            e.label: found
            for e in self.expect
            if isinstance(e, DecidedEarly) and (found := e.violated(evidence, now))
        }

    def judge(self, evidence: Evidence) -> Verdict:
        """Every expectation over the evidence: pure, so judging never depends on what wrote files.

        After an early end (``evidence.decided_by``) the run was cut short on
        purpose, so an expectation that needed the rest of it cannot be judged:
        the deciding ones are judged in full (the final evidence may refute the
        decision: then they held), the other :class:`DecidedEarly` ones by what
        had already happened, and the rest are reported as not judged (never as
        passed, never as failed for a consequence of the cut).
        """
        if not evidence.decided_by:
            return Verdict(
                self.name,
                {e.label: found for e in self.expect if (found := e.problems(evidence))},
                dict(self.not_judgeable),
            )
        failed: dict[str, list[str]] = {}
        not_judged: dict[str, str] = dict(self.not_judgeable)
        why = f"the run ended early, decided by: {', '.join(evidence.decided_by)}"
        for e in self.expect:
            if e.label in evidence.decided_by:
                # Judged in full on the final evidence: a decision made on a status that was stale
                # (the exit had happened, its report had not arrived) is refuted here, not upheld.
                found = e.problems(evidence)
            elif isinstance(e, DecidedEarly):
                found = e.violated(evidence, evidence.ended)
            else:
                not_judged[e.label] = why
                continue
            if found:
                failed[e.label] = found
        return Verdict(self.name, failed, not_judged)

    def with_timings(self, timings: Timings, *, tier: Tier) -> Scenario:
        return replace(self, timings=timings, tier=tier, name=f"{self.name}-{tier}")


@dataclass(frozen=True)
class Verdict:
    """What the expectations said about one scenario's evidence: the label and problems of each failure."""

    scenario: str
    failed: dict[str, list[str]]
    not_judged: dict[str, str] = field(default_factory=dict)  # label -> why it could not be judged

    @property
    def passed(self) -> bool:
        return not self.failed

    def describe(self) -> str:
        """The failures as a person reads them (may quote implementation logs: redact before printing)."""
        details = "\n".join(f"- {label}:\n    " + "\n    ".join(p) for label, p in self.failed.items())
        skipped = "".join(f"\n  (not judged: {label}: {why})" for label, why in self.not_judged.items())
        return f"scenario {self.scenario}: {len(self.failed)} expectation(s) failed\n{details}{skipped}"
