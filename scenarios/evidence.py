"""What a scenario run observed, independent of which implementations produced it.

Rotations come from watching the token Secret through the API (not from
the operator's log), connections and deliveries from the backend's ledger,
exits and logs from the runner pods: so the same expectations judge the
reference stubs and any real operator or runner under test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from longhaul.ledger import SessionEvidence
from longhaul.tokens import TokenProbe


@dataclass(frozen=True)
class Rotation:
    """The token Secret's value changed to the token with fingerprint ``fp`` at ``t``.

    ``exp`` is the token's own ``exp`` claim (a claim, never the token), when it has one.
    """

    t: float
    fp: str
    exp: int | None = None


@dataclass(frozen=True)
class RunnerRun:
    """One runner pod (incarnation) as the harness last saw it."""

    pod: str
    phase: str
    exit_code: int | None
    started: float | None
    finished: float | None
    log: str
    pod_spec: dict[str, Any] = field(default_factory=dict)  # as the API returned it (camelCase keys)
    uid: str = ""  # one incarnation: a pod replaced under the same name has another uid
    deleted_by_fault: bool = False  # the scenario deleted this pod on purpose (its exit is not a failure)

    @property
    def seconds_to_exit(self) -> float | None:
        if self.started is None or self.finished is None:
            return None
        return self.finished - self.started


@dataclass(frozen=True)
class FaultRecord:
    t: float
    label: str
    error: str = ""


@dataclass
class Evidence:
    scenario: str
    namespace: str
    session: str
    started: float
    ended: float = 0.0
    ledger: SessionEvidence | None = None
    rotations: list[Rotation] = field(default_factory=list)
    runs: list[RunnerRun] = field(default_factory=list)
    faults: list[FaultRecord] = field(default_factory=list)
    end_reason: str = ""  # why the run stopped waiting ("finished", "runner exited", "timed out: ...")
    leaks: list[str] = field(default_factory=list)
    requested_messages: int | None = None  # the workload the harness asked the runner for
    decided_at: float | None = None  # when the outcome was known (the deciding event), if before the end
    decided_by: list[str] = field(default_factory=list)  # labels of the expectations that decided it
    aborted: str = ""  # a harness error (a pod that can never start): no verdict on the implementation
    # Finds this scenario's tokens in report text (digests only, never a token): see TokenProbe.
    leak_probe: TokenProbe = field(default_factory=TokenProbe, repr=False, compare=False)

    def deciding_event(self) -> float | None:
        """When the outcome became certain: the event a verdict waits for.

        The runner's unexpected exit or the bound that passed (an early
        verdict), else the session's recorded end or the runner's last exit.
        ``ended - deciding_event()`` is how long a person waited for nothing.
        """
        if self.decided_at is not None:
            exits = [r.finished for r in self.unexpected_exits if r.finished is not None]
            return min(exits, default=self.decided_at)
        ends = [f.t for f in self.ledger.finishes] if self.ledger else []
        last = self.last_run
        if last is not None and last.finished is not None:
            ends.append(last.finished)
        return max(ends, default=None)

    @property
    def unexpected_exits(self) -> list[RunnerRun]:
        """Runner incarnations that exited non-zero without the scenario having deleted them."""
        return [r for r in self.runs if r.exit_code not in (None, 0) and not r.deleted_by_fault]

    @property
    def minted(self) -> list[str]:
        """Fingerprints of every token the Secret held, in order."""
        return list(dict.fromkeys(r.fp for r in self.rotations))

    @property
    def last_run(self) -> RunnerRun | None:
        return self.runs[-1] if self.runs else None

    @property
    def deciding_time(self) -> float:
        """The deciding event (:meth:`deciding_event`), or the moment the harness stopped waiting when
        nothing decided the run (it timed out, or the session failed): where the timeline marks it."""
        event = self.deciding_event()
        return self.ended if event is None else event

    def token_ages_at_connect(self) -> list[float]:
        """For each accepted handshake: seconds since the Secret took the token it presented.

        The time from a Secret update to the runner presenting that token.
        """
        minted_at = {r.fp: r.t for r in reversed(self.rotations)}
        accepted = self.ledger.accepted if self.ledger else ()
        return [round(h.t - minted_at[h.token_fp], 2) for h in accepted if h.token_fp in minted_at]

    def reconnect_gaps(self) -> list[float]:
        """Seconds from each close to the next accepted handshake (how long the session was offline)."""
        if self.ledger is None:
            return []
        accepted = sorted(h.t for h in self.ledger.accepted)
        gaps = []
        for close in self.ledger.closes:
            later = [t for t in accepted if t >= close.t]
            if later:
                gaps.append(round(later[0] - close.t, 2))
        return gaps

    def messages_delivered(self) -> int:
        if self.ledger is None:
            return 0
        return sum(len(self.ledger.delivered(r)) for r in self.ledger.runner_ids())

    def summary(self) -> dict[str, object]:
        """Token-free figures for reports and failure messages."""
        ledger = self.ledger
        accepted = ledger.accepted if ledger else ()
        return {
            "end": self.end_reason,
            "rotations": len(self.rotations),
            "accepted_handshakes": [(round(h.t - self.started, 1), h.token_fp) for h in accepted],
            "rejected_handshakes": [
                (round(h.t - self.started, 1), h.status, h.token_fp)
                for h in (ledger.rejected if ledger else ())
            ],
            "runner_exits": [(r.pod, r.exit_code, r.seconds_to_exit) for r in self.runs],
            "decided_after_s": None if self.decided_at is None else round(self.decided_at - self.started, 1),
            "token_age_at_connect_s": self.token_ages_at_connect(),
            "reconnect_gaps_s": self.reconnect_gaps(),
            "messages_delivered": self.messages_delivered(),
            "faults": [(round(f.t - self.started, 1), f.label, f.error) for f in self.faults],
            "ledger": ledger.describe() if ledger else None,
        }
