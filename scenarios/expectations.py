"""The properties scenarios demand, each judged over :class:`Evidence`.

Each expectation returns the problems it found, phrased with what was
observed, so a failing scenario explains itself without a debugger.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, replace

from longhaul.contract import Contract
from longhaul.profiles.loader import load_reference
from longhaul.profiles.schema import Profile, TokenDelivery
from longhaul.profiles.templates import render
from longhaul.scenarios.evidence import Evidence
from longhaul.scenarios.failfast_log import Cause, naming_line
from longhaul.scenarios.pod_contract import pod_spec_problems
from longhaul.scenarios.runner_clock import WRAPPER_SLACK, parse_runner_clock
from longhaul.tokens import fingerprint

# The reference's exit codes (longhaul.contract.RunnerExit), by the outcome each names in a profile's
# [exit] table: a profile that promises no exact code for an outcome accepts any non-zero one.
EXIT_OUTCOMES = {66: "fail_fast", 75: "gave_up", 78: "no_token_source", 143: "interrupted"}
NOT_WIRE = (
    "the runner's protocol ({protocol}) has no numbered events or acks: delivery cannot be judged "
    "(profile {profile})"
)
NOT_WIRE_END = (
    "the runner's protocol ({protocol}) has no end record longhaul can read: only the runner's exit "
    "is judged (profile {profile})"
)

# Container timestamps have 1 s resolution and the harness polls: a bound is only called
# violated while the run goes on once it has clearly passed.
CLOCK_SLACK = 2.0
# A container's exit reaches the pod's status in the API only after kubelet's relist and status
# sync: on a loaded node that takes seconds, sometimes tens of them.  "Still running past its bound"
# read from the API is called for good only once the bound has passed by more than that, so a
# runner that did exit in time is never condemned on a stale status (its container's own finish
# time, once the status arrives, is what the final judgement measures).
STATUS_LAG = 10.0
# The same, for a runner that has gone quiet (nothing reaches the backend any more): the only sign
# of it left is the status, and a quiet runner has most likely exited.  Such a status is trusted as
# "still running" only after much longer: an early end on a guess cuts the evidence short.
QUIET_STATUS_LAG = 30.0


def _ledger_or_problem(evidence: Evidence) -> list[str]:
    return [] if evidence.ledger is not None else ["no ledger was collected"]


@dataclass(frozen=True)
class SessionFinished:
    """The runner declared its last message, the backend acknowledged it, and the pod exited 0.

    With a runner whose protocol longhaul cannot read (``backend_end`` False)
    only the exit is judged; the backend's record of the end is reported as not
    judged by :func:`~longhaul.scenarios.binding.bind`.
    """

    label: str = "session finished (runner exit 0, backend recorded the end)"
    backend_end: bool = True

    def for_profile(self, profile: Profile) -> SessionFinished:
        return self if profile.runner.protocol == "longhaul-wire" else replace(self, backend_end=False)

    def problems(self, evidence: Evidence) -> list[str]:
        found = _ledger_or_problem(evidence)
        if self.backend_end and evidence.ledger is not None and not evidence.ledger.finishes:
            found.append(f"backend never recorded the session's end ({evidence.end_reason})")
        last = evidence.last_run
        if last is None or last.exit_code != 0:
            found.append(
                f"last runner pod did not exit 0: {last.pod if last else 'no pod'} -> "
                f"{last.exit_code if last else None}"
            )
        return found + self.violated(evidence, evidence.ended)

    def violated(self, evidence: Evidence, now: float) -> list[str]:
        """A runner that exits non-zero (and was not deleted by the scenario) has not finished the session."""
        return [
            f"runner pod {r.pod} exited {r.exit_code} before the session finished"
            for r in evidence.unexpected_exits
        ]


@dataclass(frozen=True)
class Rotations:
    """The token Secret took at least ``at_least`` new values after the first one."""

    at_least: int
    label: str = "token rotations"

    def problems(self, evidence: Evidence) -> list[str]:
        rotations = len(evidence.minted) - 1
        if rotations < self.at_least:
            return [
                f"expected at least {self.at_least} rotations, saw {rotations} (tokens {evidence.minted})"
            ]
        return []


@dataclass(frozen=True)
class NewTokenOnReconnect:
    """Reconnects present ever newer tokens the operator minted, never a stale one.

    Accepted fingerprints must all be tokens the Secret held, in the order it
    held them, and at least ``at_least`` reconnects must have carried a token
    newer than the one before: a runner that caches its token fails here.
    """

    at_least: int
    label: str = "each reconnect presents the newest token"

    def problems(self, evidence: Evidence) -> list[str]:
        found = _ledger_or_problem(evidence)
        if evidence.ledger is None:
            return found
        order = {fp: i for i, fp in enumerate(evidence.minted)}
        accepted = [h.token_fp or "" for h in evidence.ledger.accepted]
        unknown = [fp for fp in accepted if fp not in order]
        if unknown:
            found.append(f"accepted tokens the Secret never held: {sorted(set(unknown))}")
        indices = [order[fp] for fp in accepted if fp in order]
        found += self.violated(evidence, evidence.ended)
        newer = sum(1 for a, b in itertools.pairwise(indices) if b > a)
        if newer < self.at_least:
            # n reconnects with ever newer tokens need n rotations: say which side fell short.
            rotations = len(evidence.minted) - 1
            cause = (
                f"the Secret took only {rotations} new tokens: the operator did not rotate enough"
                if rotations < self.at_least
                else "the Secret rotated, the runner did not present the new tokens"
            )
            found.append(
                f"expected at least {self.at_least} reconnects with a newer token, saw {newer}; {cause} "
                f"(accepted {accepted}, minted {evidence.minted})"
            )
        return found

    def violated(self, evidence: Evidence, now: float) -> list[str]:
        """Going back to an older token cannot be undone by any later reconnect."""
        if evidence.ledger is None:
            return []
        order = {fp: i for i, fp in enumerate(evidence.minted)}
        accepted = [h.token_fp or "" for h in evidence.ledger.accepted]
        indices = [order[fp] for fp in accepted if fp in order]
        if any(b < a for a, b in itertools.pairwise(indices)):
            return [f"a reconnect went back to an older token: accepted order {accepted}"]
        return []


@dataclass(frozen=True)
class ExactlyOnceDelivery:
    """The final runner incarnation delivered exactly the workload asked for, 1..N, each event once.

    N is what the harness asked the runner for (``RUNNER_MESSAGES``), not what
    the runner says it sent: a runner that stops early and declares the end
    fails here.  An event received again after its ack went out is a
    duplicate; a resend of an event whose ack never went out is the
    at-least-once protocol working and is allowed.
    """

    label: str = "every message exactly once"

    def for_profile(self, profile: Profile) -> ExactlyOnceDelivery | str:
        if profile.runner.protocol == "longhaul-wire":
            return self
        return NOT_WIRE.format(protocol=profile.runner.protocol, profile=profile.name)

    def problems(self, evidence: Evidence) -> list[str]:
        found = _ledger_or_problem(evidence)
        ledger = evidence.ledger
        if ledger is None:
            return found
        found += self.violated(evidence, evidence.ended)
        if not ledger.finishes:
            found.append("no finished record: cannot tell how many messages there should be")
            return found
        end = ledger.finishes[-1]
        wanted = evidence.requested_messages
        if wanted is not None and end.last_seq != wanted:
            found.append(
                f"runner {end.runner_id} declared the end after {end.last_seq} messages; "
                f"the harness asked for {wanted}"
            )
        last = wanted if wanted is not None else end.last_seq
        missing = ledger.missing(end.runner_id, last)
        if missing or not ledger.exactly_once(end.runner_id, last):
            found.append(f"runner {end.runner_id}: missing {missing[:20]} of 1..{last}")
        return found

    def violated(self, evidence: Evidence, now: float) -> list[str]:
        """A duplicate, once delivered, stays delivered."""
        ledger = evidence.ledger
        if ledger is None:
            return []
        return [
            f"runner {runner}: {ledger.duplicates(runner)} duplicate deliveries"
            for runner in ledger.runner_ids()
            if ledger.duplicates(runner)
        ]


@dataclass(frozen=True)
class NoHandshakes:
    """Nothing reached the backend at all (e.g. no connection attempt with an empty token).

    Not only session handshakes: a TCP accept, a request on any path (a 404 for
    a wrong path) or bytes that were no HTTP request (TLS to the plain port) are
    each a connection attempt that reached it.
    """

    label: str = "no connection attempt reached the backend"

    def problems(self, evidence: Evidence) -> list[str]:
        # A missing ledger proves nothing: "no handshake recorded" must not pass blind.
        return _ledger_or_problem(evidence) + self.violated(evidence, evidence.ended)

    def violated(self, evidence: Evidence, now: float) -> list[str]:
        ledger = evidence.ledger
        if ledger is not None and ledger.contacted:
            seen = ledger.contacts()
            return [f"backend saw {len(seen)} connection attempts: {seen[:10]}"]
        return []


@dataclass(frozen=True)
class RunnerExit:
    """The (last) runner pod exited with ``code``, within ``within`` seconds of starting if given.

    With a bound, the harness wraps the runner in its clock (:mod:`longhaul.scenarios.runner_clock`)
    and the bound is judged on those stamps, allowing only the wrapper's own measured
    :data:`~longhaul.scenarios.runner_clock.WRAPPER_SLACK`.  Without stamps in the log (another
    runner image without GNU ``date``) it falls back to the container's 1 s timestamps.
    """

    code: int | None  # None: any non-zero code (a profile that promises no exact one)
    within: float | None = None
    label: str = "runner exit code"

    def for_profile(self, profile: Profile) -> RunnerExit:
        """The code the profile promises for the outcome the reference's code names (66: fail-fast...)."""
        outcome = EXIT_OUTCOMES.get(self.code) if self.code is not None else None
        if outcome is None:
            return self
        return replace(self, code=getattr(profile.exit, outcome))

    @property
    def wants_runner_clock(self) -> bool:
        """The engine wraps the runner command in the clock for expectations that say so."""
        return self.within is not None

    def problems(self, evidence: Evidence) -> list[str]:
        last = evidence.last_run
        if last is None:
            return [f"no runner pod observed ({evidence.end_reason})"]
        found = []
        if self.code is None and last.exit_code in (None, 0):
            found.append(
                f"runner {last.pod} exited {last.exit_code} ({last.phase}), expected a non-zero code"
            )
        elif self.code is not None and last.exit_code != self.code:
            found.append(f"runner {last.pod} exited {last.exit_code} ({last.phase}), expected {self.code}")
        if self.within is not None:
            found += self._too_slow(last.pod, last.log, last.seconds_to_exit, self.within)
        return found

    @staticmethod
    def _too_slow(pod: str, log: str, container_seconds: float | None, within: float) -> list[str]:
        clock = parse_runner_clock(log)
        if clock is not None:
            if clock.seconds > within + WRAPPER_SLACK:
                cpu = "" if clock.cpu_seconds is None else f" on {clock.cpu_seconds:.3f}s of CPU"
                return [
                    f"runner {pod} took {clock.seconds:.3f}s to exit{cpu} (runner clock), contract says "
                    f"within {within:g}s (+{WRAPPER_SLACK:g}s for the clock's wrapper)"
                ]
            return []
        if container_seconds is None:
            return [f"runner {pod} never exited while observed, contract says within {within:g}s"]
        if container_seconds > within:
            return [
                f"runner {pod} took {container_seconds:g}s to exit (container timestamps, 1 s resolution; "
                f"no runner clock in its log), contract says within {within:g}s"
            ]
        return []

    def violated(self, evidence: Evidence, now: float) -> list[str]:
        """Still running past the bound: whatever it does next, it did not exit in time."""
        last = evidence.last_run
        if self.within is None or last is None or last.started is None or last.finished is not None:
            return []
        if now - last.started > self.within + CLOCK_SLACK + STATUS_LAG:
            return [
                f"runner {last.pod} still running {now - last.started:.0f}s after it started, "
                f"contract says it exits within {self.within}s"
            ]
        return []


@dataclass(frozen=True)
class GivesUpWithin:
    """Once offline (its connection closed and no reconnect accepted), the runner exits within ``seconds``.

    The bound that makes "fails loudly" mean something: a runner that retries
    forever, or gives up only after the scenario's deadline, fails here.
    Measured from the backend's record of the last close to the pod's exit.
    """

    seconds: float
    label: str = "gives up within its bound"

    def _offline_since(self, evidence: Evidence) -> float | None:
        ledger = evidence.ledger
        if ledger is None or not ledger.closes:
            return None
        last_close = max(c.t for c in ledger.closes)
        if any(h.t > last_close for h in ledger.accepted):
            return None
        return last_close

    def problems(self, evidence: Evidence) -> list[str]:
        since, last = self._offline_since(evidence), evidence.last_run
        if since is None:
            return [f"the runner never went offline for good (ledger: {evidence.summary().get('ledger')})"]
        if last is None or last.finished is None:
            return [f"runner {last.pod if last else '-'} never exited after going offline"]
        if last.finished - since > self.seconds:
            return [
                f"runner {last.pod} exited {last.finished - since:.0f}s after going offline, "
                f"bound {self.seconds:g}s"
            ]
        return []

    def violated(self, evidence: Evidence, now: float) -> list[str]:
        """Decided while the run goes on only on evidence that cannot be stale.

        A runner that still dials the backend past its bound proves it is alive: the
        backend's own record says so, whatever the pod's status lags behind.  A runner
        that has gone quiet may have exited already, its status not yet in the API:
        only a status that has said "running" for far longer than such a lag decides
        it (the final judgement measures the container's own finish time either way).
        """
        since, last = self._offline_since(evidence), evidence.last_run
        if since is None or last is None or last.finished is not None:
            return []
        bound = since + self.seconds + CLOCK_SLACK
        ledger = evidence.ledger
        alive = [t for t in ledger.contact_times() if t > bound] if ledger is not None else []
        if alive:
            return [
                f"runner {last.pod} still dialling the backend {max(alive) - since:.0f}s after going "
                f"offline, bound {self.seconds:g}s"
            ]
        if now - since > self.seconds + CLOCK_SLACK + QUIET_STATUS_LAG:
            return [
                f"runner {last.pod} still running {now - since:.0f}s after going offline, "
                f"bound {self.seconds:g}s"
            ]
        return []


@dataclass(frozen=True)
class RunnerLogMatches:
    """The last runner pod's log has a line matching ``pattern`` (e.g. the path and the cause)."""

    pattern: str
    label: str = "runner log line"

    def problems(self, evidence: Evidence) -> list[str]:
        last = evidence.last_run
        log = last.log if last else ""
        if not re.search(self.pattern, log, flags=re.M):
            tail = "\n".join(log.splitlines()[-5:])
            return [f"no log line matching {self.pattern!r}; last lines:\n{tail}"]
        return []


@dataclass(frozen=True)
class FailFastLogLine:
    """The last runner pod's log has a line naming the unusable token file and why, in any wording.

    ``path`` is a template (``{token_dir}``, ``{token_file}``: where the
    profile's delivery puts the token), filled by :meth:`for_profile`; the line
    is judged by :func:`~longhaul.scenarios.failfast_log.naming_line`, which
    accepts the path and a ``cause`` in either order.  Filled by
    :meth:`with_paths` when bound to a profile; unbound, the reference's paths.
    """

    path: str
    cause: Cause = "any"
    label: str = "runner log names the path and the cause"
    # Other paths the same set-up may use (an env-only override points at /dev/null, not /tmp/empty).
    alternatives: tuple[str, ...] = ()

    def with_paths(self, paths: dict[str, str]) -> FailFastLogLine:
        """The path template filled (by :func:`~longhaul.scenarios.binding.bind`, for its contract)."""
        return replace(
            self,
            path=render(self.path, paths),
            alternatives=tuple(render(a, paths) for a in self.alternatives),
        )

    def problems(self, evidence: Evidence) -> list[str]:
        last = evidence.last_run
        log = last.log if last else ""
        unbound = token_paths(None)
        paths = [render(p, unbound) if "{" in p else p for p in (self.path, *self.alternatives)]
        if not any(naming_line(log, path, self.cause) for path in paths):
            tail = "\n".join(log.splitlines()[-5:])
            return [
                f"no log line names {' or '.join(paths)} with a cause ({self.cause}); last lines:\n{tail}"
            ]
        return []


def token_paths(profile: Profile | None, contract: Contract | None = None) -> dict[str, str]:
    """``{token_dir}`` and ``{token_file}`` where ``contract``'s delivery (else the profile's first file
    delivery) puts the token; the reference profile's without a profile."""
    profile = profile or load_reference()
    chosen = [contract] if contract is not None else []
    delivery = next(
        (
            profile.deliveries[c]
            for c in [*chosen, Contract.BOT_TOKEN_PATH, Contract.UPSTREAM]
            if c in profile.deliveries and c is not Contract.LEGACY_ENV
        ),
        None,
    )
    if delivery is None:
        return {"token_dir": "", "token_file": ""}
    return {"token_dir": delivery.mount_dir, "token_file": delivery.token_file(profile.names.token_key)}


@dataclass(frozen=True)
class ReconnectRejected:
    """After an accepted connection, a later handshake was rejected with ``status``."""

    status: int = 401
    label: str = "reconnect rejected"

    def problems(self, evidence: Evidence) -> list[str]:
        ledger = evidence.ledger
        if ledger is None or not ledger.accepted:
            return ["the first connection was never accepted"]
        first = ledger.accepted[0].t
        if not any(h.status == self.status and h.t > first for h in ledger.rejected):
            return [f"no reconnect was rejected with {self.status}: {[h.status for h in ledger.handshakes]}"]
        return []


@dataclass(frozen=True)
class NoTokenLeaks:
    """No token value issued during the scenario appears in any log, event or artifact."""

    label: str = "no token in any artifact"

    def problems(self, evidence: Evidence) -> list[str]:
        return list(evidence.leaks)

    def violated(self, evidence: Evidence, now: float) -> list[str]:
        """A leak found is found for good (the scan runs once, at the end: an early end still has it)."""
        return list(evidence.leaks)


@dataclass(frozen=True)
class PodSpecFollowsContract:
    """Every runner pod receives its token the way ``contract`` says, and no other credential.

    Judged on the pod specs the API server stored (see :mod:`longhaul.scenarios.pod_contract`):
    read-only whole-directory Secret volume, no ``subPath``, ``BOT_TOKEN_PATH`` as
    written down, ``automountServiceAccountToken: false``.
    """

    contract: Contract
    label: str = "runner pod spec follows the token contract"
    delivery: TokenDelivery | None = None  # the profile's; None: the reference's
    token_key: str | None = None
    secret_template: str | None = None  # the token Secret's name template ({session})

    def for_profile(self, profile: Profile) -> PodSpecFollowsContract | str:
        delivery = profile.deliveries.get(self.contract)
        if delivery is None:
            return f"profile {profile.name} delivers no {self.contract.value} token"
        return replace(
            self,
            delivery=delivery,
            token_key=profile.names.token_key,
            secret_template=profile.names.token_secret,
        )

    def problems(self, evidence: Evidence) -> list[str]:
        if not evidence.runs:
            return [f"no runner pod observed ({evidence.end_reason})"]
        return self.violated(evidence, evidence.ended)

    def violated(self, evidence: Evidence, now: float) -> list[str]:
        """A pod's spec never changes once created: a wrong one is wrong for good."""
        secret = render(self.secret_template, {"session": evidence.session}) if self.secret_template else None
        return [
            f"pod {run.pod}: {problem}"
            for run in evidence.runs
            for problem in pod_spec_problems(
                run.pod_spec, self.contract, self.delivery, token_key=self.token_key, secret_name=secret
            )
        ]


def _first_fault(evidence: Evidence) -> float | None:
    """When the scenario's first fault was applied (None: never, or it failed)."""
    applied = [f.t for f in evidence.faults if not f.error and f.label != "faults not applied"]
    return min(applied, default=None)


def _fault_problem(evidence: Evidence) -> list[str]:
    if _first_fault(evidence) is None:
        return [f"the fault was never applied: {[(f.label, f.error) for f in evidence.faults]}"]
    return []


@dataclass(frozen=True)
class NoTokenlessHandshake:
    """No handshake reached the backend without a token (an empty ``Bearer``, no header at all).

    What a runner does when its token file vanished mid-session: a correct one
    exits with a clear error; a lenient one connects with an empty token, and
    the backend's 401 hides the real cause (a broken mount) behind "unauthorized".
    """

    label: str = "no handshake without a token"

    def problems(self, evidence: Evidence) -> list[str]:
        return _ledger_or_problem(evidence) + self.violated(evidence, evidence.ended)

    def violated(self, evidence: Evidence, now: float) -> list[str]:
        """A handshake without a token, once made, stays made."""
        ledger = evidence.ledger
        if ledger is None:
            return []
        empty = fingerprint("")
        bare = [h for h in ledger.handshakes if h.token_fp in (None, "", empty)]
        return (
            [
                f"{len(bare)} handshake(s) presented no token: "
                f"{[(round(h.t - evidence.started, 1), h.status, h.reason) for h in bare]}"
            ]
            if bare
            else []
        )


@dataclass(frozen=True)
class RotationsAfterFault:
    """After the scenario's first fault, the token Secret still took ``at_least`` new tokens.

    Observed through the API (the Secret's value), so it judges any operator: one
    that keeps "refreshing" a Secret it can no longer write fails here.
    """

    at_least: int
    label: str = "token rotations after the fault"

    def problems(self, evidence: Evidence) -> list[str]:
        fault = _first_fault(evidence)
        if fault is None:
            return _fault_problem(evidence)
        before = {r.fp for r in evidence.rotations if r.t <= fault}
        after = list(dict.fromkeys(r.fp for r in evidence.rotations if r.t > fault and r.fp not in before))
        if len(after) < self.at_least:
            return [
                f"expected at least {self.at_least} new tokens in the Secret after the fault at "
                f"{fault - evidence.started:.1f}s, saw {len(after)} {after} (all tokens {evidence.minted})"
            ]
        return []


@dataclass(frozen=True)
class RecoversWithin:
    """Within ``seconds`` of the first fault, a handshake is accepted with a token issued after it.

    A token counts as issued after the fault when the Secret first held it after
    the fault and its ``iat`` is not older than the fault's second: so an old
    token the API server still accepts from its authentication cache is not a
    recovery, however long it keeps working.
    """

    seconds: float
    label: str = "recovers with a new token within its bound"

    def _recovered_at(self, evidence: Evidence, fault: float) -> float | None:
        if evidence.ledger is None:
            return None
        seen_at: dict[str, float] = {}
        for r in evidence.rotations:
            seen_at.setdefault(r.fp, r.t)
        new = [
            h.t
            for h in evidence.ledger.accepted
            if h.token_fp in seen_at
            and seen_at[h.token_fp] > fault
            and (h.iat is None or h.iat >= int(fault))
        ]
        return min(new, default=None)

    def problems(self, evidence: Evidence) -> list[str]:
        fault = _first_fault(evidence)
        if fault is None:
            return _fault_problem(evidence)
        found = _ledger_or_problem(evidence)
        at = self._recovered_at(evidence, fault)
        if at is None:
            accepted = evidence.ledger.accepted if evidence.ledger else ()
            seen = [(round(h.t - evidence.started, 1), h.token_fp) for h in accepted]
            found.append(
                f"no handshake with a token issued after the fault at {fault - evidence.started:.1f}s "
                f"was accepted (accepted: {seen})"
            )
        elif at - fault > self.seconds:
            found.append(f"recovered {at - fault:.1f}s after the fault, bound {self.seconds:g}s")
        return found

    def violated(self, evidence: Evidence, now: float) -> list[str]:
        """The bound has passed without a recovery: a later one is too late whatever it is."""
        fault = _first_fault(evidence)
        if fault is None or now - fault <= self.seconds + CLOCK_SLACK:
            return []
        at = self._recovered_at(evidence, fault)
        if at is None or at - fault > self.seconds:
            return [
                f"no token issued after the fault was accepted within {self.seconds:g}s of it "
                f"({now - fault:.0f}s have passed)"
            ]
        return []


@dataclass(frozen=True)
class TokensCarryAudience:
    """Every token the runner presented was minted for ``audience``, the one the backend requires.

    Judged from the ``aud`` claim the backend recorded for each handshake (a
    claim, never the token): an operator that ignores its configured audience
    fails here with the audience it did mint, not with a bare 401.
    """

    audience: str
    label: str = "every token carries the backend's audience"

    def problems(self, evidence: Evidence) -> list[str]:
        found = _ledger_or_problem(evidence)
        if evidence.ledger is not None and not evidence.ledger.handshakes:
            found.append("no handshake reached the backend: no audience to judge")
        return found + self.violated(evidence, evidence.ended)

    def violated(self, evidence: Evidence, now: float) -> list[str]:
        """A token for another audience, once presented, stays presented."""
        ledger = evidence.ledger
        if ledger is None:
            return []
        wrong = [h for h in ledger.handshakes if self.audience not in (h.aud or "").split(",")]
        return (
            [
                f"{len(wrong)} handshake(s) presented tokens for another audience than {self.audience!r}: "
                f"{sorted({(h.token_fp, h.aud, h.status) for h in wrong}, key=str)[:5]}"
            ]
            if wrong
            else []
        )


@dataclass(frozen=True)
class EveryHandshakeRejected:
    """At least one handshake was made, and the backend rejected every one with ``status``."""

    status: int = 401
    label: str = "every handshake rejected"

    def problems(self, evidence: Evidence) -> list[str]:
        found = _ledger_or_problem(evidence)
        ledger = evidence.ledger
        if ledger is not None and not ledger.handshakes:
            found.append("no handshake reached the backend")
        if ledger is not None and any(h.status != self.status for h in ledger.rejected):
            found.append(f"rejections other than {self.status}: {[h.status for h in ledger.rejected]}")
        return found + self.violated(evidence, evidence.ended)

    def violated(self, evidence: Evidence, now: float) -> list[str]:
        """An accepted handshake cannot be taken back."""
        ledger = evidence.ledger
        if ledger is None or not ledger.accepted:
            return []
        return [f"{len(ledger.accepted)} handshake(s) accepted: {[h.token_fp for h in ledger.accepted]}"]


@dataclass(frozen=True)
class ReplacedBeforeExpiry:
    """Each token in the Secret was replaced at least ``margin`` seconds before its own ``exp``.

    The real-time tier's verdict on the refresh itself, from the harness's watch
    of the Secret (when each value appeared) and each token's ``exp`` claim: an
    operator that refreshes late, or only after expiry, fails here whatever the
    runner does.  The last token is judged only if the session outlived its ``exp``.
    """

    margin: float
    label: str = "token replaced before it expires"

    def problems(self, evidence: Evidence) -> list[str]:
        first_seen: dict[str, tuple[float, int | None]] = {}
        for r in evidence.rotations:
            first_seen.setdefault(r.fp, (r.t, r.exp))
        ordered = sorted(first_seen.items(), key=lambda item: item[1][0])
        if len(ordered) < 2:
            return [f"the Secret never took a second token ({len(ordered)} seen)"]
        found = []
        for (fp, (_, exp)), (_, (replaced, _)) in itertools.pairwise(ordered):
            if exp is None:
                found.append(f"token {fp} has no exp claim to judge its refresh by")
            elif replaced > exp - self.margin:
                found.append(
                    f"token {fp} replaced {replaced - exp:+.0f}s from its exp, wanted at least "
                    f"{self.margin:g}s before it"
                )
        last_fp, (_, last_exp) = ordered[-1]
        if last_exp is not None and evidence.ended > last_exp:
            found.append(f"token {last_fp} expired at {last_exp} and was never replaced")
        return found
