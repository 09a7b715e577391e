"""The scenarios longhaul runs, read as the behaviour they check.

Fast tier: a real 600 s TokenRequest token per rotation, but the backend
accepts a token only while it is younger than ``max_token_age`` and closes
the connection when it ages out, so a session sees a rotation and a
reconnect every few seconds.  Soak tier: the same checks with the token's
real ``exp`` deciding, over 25+ minutes.
"""

from __future__ import annotations

from dataclasses import replace

from longhaul.capabilities import Capability
from longhaul.contract import Contract, RunnerExit
from longhaul.scenarios.expectations import (
    ExactlyOnceDelivery,
    GivesUpWithin,
    NewTokenOnReconnect,
    NoHandshakes,
    NoTokenLeaks,
    PodSpecFollowsContract,
    ReconnectRejected,
    Rotations,
    RunnerLogMatches,
    SessionFinished,
)
from longhaul.scenarios.expectations import (
    RunnerExit as ExitsWith,
)
from longhaul.scenarios.faults import (
    DeleteRunnerPod,
    DeleteTokenSecret,
    RecreateServiceAccount,
    RestartApiServer,
    RestartBackend,
    RestartOperator,
    StopRefreshing,
)
from longhaul.scenarios.model import Fault, RunnerOverride, Scenario, Timings, minutes, s

FAST = Timings(refresh_every=s(3), max_token_age=s(10), duration=s(36))
SOAK = Timings(
    refresh_every=s(240),
    max_token_age=None,
    duration=minutes(27),
    message_interval=s(2),
    settle=s(300),
    give_up_after=s(120),
)
FAIL_FAST = Timings(refresh_every=s(3), max_token_age=s(10), duration=s(10), settle=s(60))
GIVES_UP = Timings(refresh_every=s(3), max_token_age=s(10), duration=s(120), give_up_after=s(8), settle=s(60))
# Offline for give_up_after, plus one backoff step (RUNNER_BACKOFF_MAX 2 s), process exit and
# the container clock's 1 s resolution.
GAVE_UP_BOUND = GIVES_UP.give_up_after + s(5)

SURVIVES = (SessionFinished(), ExactlyOnceDelivery(), NoTokenLeaks())

LONG_SESSION = Scenario(
    name="long-session-survives-rotations",
    description="one session stays up across at least 3 rotations; each reconnect presents the new token",
    contract=Contract.BOT_TOKEN_PATH,
    timings=FAST,
    expect=(
        Rotations(at_least=3),
        NewTokenOnReconnect(at_least=3),
        *SURVIVES,
        PodSpecFollowsContract(Contract.BOT_TOKEN_PATH),
    ),
)

UPSTREAM_CONTRACT = Scenario(
    name="upstream-contract-survives-rotations",
    description="the merged-upstream contract: fixed path /var/run/secrets/ambient/bot-token, item mapping",
    contract=Contract.UPSTREAM,
    timings=FAST,
    expect=(
        Rotations(at_least=3),
        NewTokenOnReconnect(at_least=3),
        *SURVIVES,
        PodSpecFollowsContract(Contract.UPSTREAM),
    ),
)

LEGACY_ENV_FALLBACK = Scenario(
    name="legacy-env-fallback",
    kind="fallback",
    description="BOT_TOKEN from env connects, and (the original bug) cannot reconnect once that "
    "token is rejected",
    contract=Contract.LEGACY_ENV,
    timings=GIVES_UP,
    ends_with="runner-exit",
    expect=(
        ReconnectRejected(status=401),
        ExitsWith(int(RunnerExit.GAVE_UP)),
        GivesUpWithin(GAVE_UP_BOUND),
        RunnerLogMatches(r"event=gave_up|gave up"),
        NoTokenLeaks(),
        PodSpecFollowsContract(Contract.LEGACY_ENV),
    ),
)


def _fails_fast(variant: str, command: str, cause: str) -> Scenario:
    return Scenario(
        name=f"missing-file-fails-fast-{variant}",
        kind="failfast",
        description=f"BOT_TOKEN_PATH set but the file is {variant}: exit 66 within 1 s, nothing sent",
        contract=Contract.BOT_TOKEN_PATH,
        timings=FAIL_FAST,
        runner=RunnerOverride(command, why=f"point BOT_TOKEN_PATH at a {variant} file"),
        ends_with="runner-exit",
        expect=(
            # The contract's 1 s, judged on the runner clock (scenarios/runner_clock.py), not 1 s timestamps.
            ExitsWith(int(RunnerExit.TOKEN_FILE_UNUSABLE), within=s(1)),
            RunnerLogMatches(cause),
            NoHandshakes(),
            NoTokenLeaks(),
        ),
    )


FAILS_FAST = (
    _fails_fast(
        "absent",
        "BOT_TOKEN_PATH=/app/runner-token/absent exec {runner}",
        r"(?i)/app/runner-token/absent.*(exist|missing|no such|not found)",
    ),
    _fails_fast("empty", ": > /tmp/empty && BOT_TOKEN_PATH=/tmp/empty exec {runner}", r"/tmp/empty.*empty"),
    _fails_fast(
        "directory", "BOT_TOKEN_PATH=/app/runner-token exec {runner}", r"/app/runner-token\b.*director"
    ),
    _fails_fast(
        "unreadable",
        "cp /app/runner-token/k8s-token /tmp/t && chmod 000 /tmp/t && "
        "BOT_TOKEN_PATH=/tmp/t exec setpriv --reuid=65534 --regid=65534 --clear-groups {runner}",
        r"/tmp/t.*(ermission|unreadable)",
    ),
)


def _survives(
    name: str,
    fault: Fault,
    *,
    at_least_new: int = 2,
    needs: frozenset[Capability] = frozenset(),
    timings: Timings = FAST,
) -> Scenario:
    return Scenario(
        name=name,
        kind="fault",
        contract=Contract.BOT_TOKEN_PATH,
        timings=timings,
        faults=(fault,),
        needs=needs,
        expect=(NewTokenOnReconnect(at_least=at_least_new), *SURVIVES),
    )


FAULTS = (
    _survives("token-secret-deleted-and-recreated", DeleteTokenSecret(at=s(10))),
    _survives("service-account-recreated", RecreateServiceAccount(at=s(10))),
    _survives("operator-restarted-mid-session", RestartOperator(at=s(10), down_for=s(3))),
    _survives("backend-restarted-mid-session", RestartBackend(at=s(12), down_for=s(2))),
    # While the API server is down nothing can be minted or validated (the backend answers 502, then
    # 401 for the aged token, and 403 while the restarted server's authorizer warms up); on a loaded
    # 2-core machine that outage alone can take 15-30 s.  The runner must ride it out (a runner
    # that exits and is replaced by its Job has not survived it), so its offline budget exceeds the
    # outage, and the session runs long enough to show two reconnects with new tokens *after* it.
    # On kind the kubelet restarts the static pod after its crash-loop back-off (10 s): 20-30 s there.
    _survives(
        "apiserver-restarted",
        RestartApiServer(at=s(12)),
        needs=frozenset({Capability.RESTART_COMPONENTS}),
        timings=replace(FAST, duration=s(54), give_up_after=s(60)),
    ),
    _survives("runner-pod-deleted", DeleteRunnerPod(at=s(12)), at_least_new=1),
    Scenario(
        name="refresh-stalled-fails-loudly",
        kind="fault",
        description="the operator stops refreshing: the session must end with exit 75, not hang",
        contract=Contract.BOT_TOKEN_PATH,
        timings=GIVES_UP,
        faults=(StopRefreshing(at=s(4)),),
        ends_with="runner-exit",
        expect=(
            ReconnectRejected(status=401),
            ExitsWith(int(RunnerExit.GAVE_UP)),
            GivesUpWithin(GAVE_UP_BOUND),
            NoTokenLeaks(),
        ),
    ),
)

FAST_TIER = (LONG_SESSION, UPSTREAM_CONTRACT, LEGACY_ENV_FALLBACK, *FAILS_FAST, *FAULTS)
SOAK_LONG_SESSION = Scenario(
    name="soak-long-session-real-token-lifetime",
    description="600 s TokenRequest tokens, the backend closing each connection at the token's exp, 27 min",
    contract=Contract.BOT_TOKEN_PATH,
    timings=SOAK,
    tier="soak",
    expect=(Rotations(at_least=3), NewTokenOnReconnect(at_least=2), *SURVIVES),
)
SOAK_TIER = (SOAK_LONG_SESSION,)
