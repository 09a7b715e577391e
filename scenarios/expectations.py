"""The properties scenarios demand, each judged over :class:`Evidence`.

Each expectation returns the problems it found, phrased with what was
observed, so a failing scenario explains itself without a debugger.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from longhaul.contract import Contract
from longhaul.scenarios.evidence import Evidence
from longhaul.scenarios.pod_contract import pod_spec_problems


def _ledger_or_problem(evidence: Evidence) -> list[str]:
    return [] if evidence.ledger is not None else ["no ledger was collected"]


@dataclass(frozen=True)
class SessionFinished:
    """The runner declared its last message, the backend acknowledged it, and the pod exited 0."""

    label: str = "session finished (runner exit 0, backend recorded the end)"

    def problems(self, evidence: Evidence) -> list[str]:
        found = _ledger_or_problem(evidence)
        if evidence.ledger is not None and not evidence.ledger.finishes:
            found.append(f"backend never recorded the session's end ({evidence.end_reason})")
        last = evidence.last_run
        if last is None or last.exit_code != 0:
            found.append(
                f"last runner pod did not exit 0: {last.pod if last else 'no pod'} -> "
                f"{last.exit_code if last else None}"
            )
        return found


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
        if any(b < a for a, b in itertools.pairwise(indices)):
            found.append(f"a reconnect went back to an older token: accepted order {accepted}")
        newer = sum(1 for a, b in itertools.pairwise(indices) if b > a)
        if newer < self.at_least:
            found.append(
                f"expected at least {self.at_least} reconnects with a newer token, saw {newer} "
                f"(accepted {accepted}, minted {evidence.minted})"
            )
        return found


@dataclass(frozen=True)
class ExactlyOnceDelivery:
    """The final runner incarnation's messages 1..N each reached the backend once; no duplicates at all."""

    label: str = "every message exactly once"

    def problems(self, evidence: Evidence) -> list[str]:
        found = _ledger_or_problem(evidence)
        ledger = evidence.ledger
        if ledger is None:
            return found
        for runner in ledger.runner_ids():
            if ledger.duplicates(runner):
                found.append(f"runner {runner}: {ledger.duplicates(runner)} duplicate deliveries")
        if not ledger.finishes:
            found.append("no finished record: cannot tell how many messages there should be")
            return found
        end = ledger.finishes[-1]
        missing = ledger.missing(end.runner_id, end.last_seq)
        if missing or not ledger.exactly_once(end.runner_id, end.last_seq):
            found.append(f"runner {end.runner_id}: missing {missing[:20]} of 1..{end.last_seq}")
        return found


@dataclass(frozen=True)
class NoHandshakes:
    """Nothing reached the backend at all (e.g. no connection attempt with an empty token)."""

    label: str = "no connection attempt reached the backend"

    def problems(self, evidence: Evidence) -> list[str]:
        ledger = evidence.ledger
        if ledger is not None and ledger.handshakes:
            return [
                f"backend saw {len(ledger.handshakes)} handshakes: "
                f"{[(h.status, h.token_fp) for h in ledger.handshakes]}"
            ]
        return []


@dataclass(frozen=True)
class RunnerExit:
    """The (last) runner pod exited with ``code``, within ``within`` seconds of starting if given."""

    code: int
    within: float | None = None
    label: str = "runner exit code"

    def problems(self, evidence: Evidence) -> list[str]:
        last = evidence.last_run
        if last is None:
            return [f"no runner pod observed ({evidence.end_reason})"]
        found = []
        if last.exit_code != self.code:
            found.append(f"runner {last.pod} exited {last.exit_code} ({last.phase}), expected {self.code}")
        took = last.seconds_to_exit
        if self.within is not None and (took is None or took > self.within):
            found.append(f"runner {last.pod} took {took}s to exit, contract says within {self.within}s")
        return found


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


@dataclass(frozen=True)
class PodSpecFollowsContract:
    """Every runner pod receives its token the way ``contract`` says, and no other credential.

    Judged on the pod specs the API server stored (see :mod:`longhaul.scenarios.pod_contract`):
    read-only whole-directory Secret volume, no ``subPath``, ``BOT_TOKEN_PATH`` as
    written down, ``automountServiceAccountToken: false``.
    """

    contract: Contract
    label: str = "runner pod spec follows the token contract"

    def problems(self, evidence: Evidence) -> list[str]:
        if not evidence.runs:
            return [f"no runner pod observed ({evidence.end_reason})"]
        return [
            f"pod {run.pod}: {problem}"
            for run in evidence.runs
            for problem in pod_spec_problems(run.pod_spec, self.contract)
        ]
