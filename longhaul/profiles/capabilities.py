"""What an implementation can be asked to do, read from its profile; and why a scenario cannot run.

A scenario states what it needs (``Scenario.needs``, plus the token delivery its
contract implies); the profile states what the implementation offers.  The
difference is a skip reason naming the implementation and each missing
ability, so "not tested" is never confused with "passed" or "failed".
"""

from __future__ import annotations

from collections.abc import Iterable

from longhaul.capabilities import Capability
from longhaul.contract import Contract
from longhaul.profiles import templates as tpl
from longhaul.profiles.schema import Profile

DELIVERY: dict[Contract, Capability] = {
    Contract.BOT_TOKEN_PATH: Capability.DELIVER_BOT_TOKEN_PATH,
    Contract.UPSTREAM: Capability.DELIVER_UPSTREAM,
    Contract.LEGACY_ENV: Capability.DELIVER_LEGACY_ENV,
}
# What only a profile can grant; the rest (cluster capabilities) are the provider's business.
IMPLEMENTATION = frozenset(
    {
        Capability.RUNNER_COMMAND,
        Capability.SESSION_ENV,
        Capability.TOKEN_AUDIENCE,
        Capability.SETTABLE_REFRESH,
        Capability.RESTART_OPERATOR,
        Capability.WIRE_PROTOCOL,
        *DELIVERY.values(),
    }
)


def offered(profile: Profile) -> frozenset[Capability]:
    op = profile.operator
    passed = [op.command, *op.args, *op.env.values(), *(a for g in op.optional_args.values() for a in g)]
    found = {DELIVERY[c] for c in profile.deliveries}
    found.add(Capability.SESSION_ENV)  # every profile names the spec field the session env goes to
    if tpl.uses(passed, "runner_command"):
        found.add(Capability.RUNNER_COMMAND)
    if tpl.uses(passed, "token_audience"):
        found.add(Capability.TOKEN_AUDIENCE)
    if profile.timing.mode == "settable":
        found.add(Capability.SETTABLE_REFRESH)
    if op.restartable:
        found.add(Capability.RESTART_OPERATOR)
    if profile.runner.protocol == "longhaul-wire":
        found.add(Capability.WIRE_PROTOCOL)
    return frozenset(found)


def lacking(profile: Profile, needs: Iterable[Capability]) -> list[Capability]:
    have = offered(profile)
    return sorted((c for c in set(needs) if c in IMPLEMENTATION and c not in have), key=lambda c: c.value)


def lacking_reason(profile: Profile, needs: Iterable[Capability]) -> str | None:
    """A skip reason, or None when the profile offers everything ``needs`` asks of an implementation."""
    missing = lacking(profile, needs)
    if not missing:
        return None
    what = "; ".join(map(str, missing))
    return f"implementation {profile.name!r} (profile {profile.source.name}) cannot {what}"
