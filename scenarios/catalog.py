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
    EveryHandshakeRejected,
    ExactlyOnceDelivery,
    FailFastLogLine,
    GivesUpWithin,
    NewTokenOnReconnect,
    NoHandshakes,
    NoTokenLeaks,
    NoTokenlessHandshake,
    PodSpecFollowsContract,
    ReconnectRejected,
    RecoversWithin,
    ReplacedBeforeExpiry,
    Rotations,
    RotationsAfterFault,
    RunnerLogMatches,
    SessionFinished,
    TokensCarryAudience,
)
from longhaul.scenarios.expectations import (
    RunnerExit as ExitsWith,
)
from longhaul.scenarios.failfast_log import Cause
from longhaul.scenarios.faults import (
    DeleteRunnerPod,
    DeleteTokenSecret,
    DropConnections,
    MakeTokenSecretImmutable,
    RecreateServiceAccount,
    RemoveTokenKey,
    RestartApiServer,
    RestartBackend,
    RestartOperator,
    StopRefreshing,
    TokensWrittenWithSuffix,
)
from longhaul.scenarios.model import Audiences, Fault, RunnerOverride, Scenario, Timings, minutes, s

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
STARTUP_ALLOWANCE = s(10)  # container start to the runner's first connection attempt, loaded node
# A legacy runner's token is fixed when kubelet creates its container, so its age at the first
# connect is the Secret's age then (< refresh_every) plus the whole container start. 10 s was not
# enough: on a loaded kind node in CI every attempt came at 11-19 s and the first connection was
# refused, so the scenario judged nothing about reconnects. The backend's policy gets the headroom;
# the runner's give-up budget and every bound stay as they were.
LEGACY_ENV = replace(GIVES_UP, max_token_age=s(30))

SURVIVES = (SessionFinished(), ExactlyOnceDelivery(), NoTokenLeaks())

LONG_SESSION = Scenario(
    name="long-session-survives-rotations",
    description="one session stays up across at least 3 rotations; each reconnect presents the new token",
    contract=Contract.BOT_TOKEN_PATH,
    timings=FAST,
    # Three reconnects with ever newer tokens the Secret held need three rotations: Rotations(3)
    # beside it could never fail alone (the bug zoo's kill matrix showed it), so it is not repeated.
    expect=(
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
    timings=LEGACY_ENV,
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


# A fail-fast scenario points BOT_TOKEN_PATH at a bad file itself, so it means the same whether the
# operator mounts the token at BOT_TOKEN_PATH's file or at the upstream fixed path.
ANY_FILE_DELIVERY = frozenset({Contract.UPSTREAM})


def _fails_fast(
    variant: Cause, command: str, path: str, env: dict[str, str] | None = None, env_path: str = ""
) -> Scenario:
    return Scenario(
        name=f"missing-file-fails-fast-{variant}",
        kind="failfast",
        description=f"BOT_TOKEN_PATH set but the file is {variant}: exit 66 within 1 s, nothing sent",
        contract=Contract.BOT_TOKEN_PATH,
        accepts_contracts=ANY_FILE_DELIVERY,
        timings=FAIL_FAST,
        runner=RunnerOverride(command, why=f"point BOT_TOKEN_PATH at a {variant} file", env=env or {}),
        ends_with="runner-exit",
        expect=(
            # The contract's 1 s, judged on the runner clock (scenarios/runner_clock.py), not 1 s timestamps.
            ExitsWith(int(RunnerExit.TOKEN_FILE_UNUSABLE), within=s(1)),
            FailFastLogLine(path, variant, alternatives=(env_path,) if env_path else ()),
            NoHandshakes(),
            NoTokenLeaks(),
        ),
    )


# {token_dir} and {token_file}: where the implementation's profile delivers the token.
FAILS_FAST = (
    _fails_fast(
        "absent",
        "BOT_TOKEN_PATH={token_dir}/absent exec {runner}",
        "{token_dir}/absent",
        env={"BOT_TOKEN_PATH": "{token_dir}/absent"},
    ),
    # Said as env alone, an empty file the runner cannot have written itself is /dev/null.
    _fails_fast(
        "empty",
        ": > /tmp/empty && BOT_TOKEN_PATH=/tmp/empty exec {runner}",
        "/tmp/empty",
        env={"BOT_TOKEN_PATH": "/dev/null"},
        env_path="/dev/null",
    ),
    _fails_fast(
        "directory",
        "BOT_TOKEN_PATH={token_dir} exec {runner}",
        "{token_dir}",
        env={"BOT_TOKEN_PATH": "{token_dir}"},
    ),
    _fails_fast(
        "unreadable",
        "cp {token_file} /tmp/t && chmod 000 /tmp/t && "
        "BOT_TOKEN_PATH=/tmp/t exec setpriv --reuid=65534 --regid=65534 --clear-groups {runner}",
        "/tmp/t",
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
        accepts_contracts=ANY_FILE_DELIVERY,
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
        accepts_contracts=ANY_FILE_DELIVERY,
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

# --- failure modes seen in the wild ------------------------------------------------------------------

ENV_TOKEN_BESIDE_UNUSABLE_FILE = Scenario(
    name="bot-token-set-but-path-unusable",
    kind="failfast",
    description="BOT_TOKEN holds a valid token but BOT_TOKEN_PATH names a missing file: exit 66 naming "
    "the path, and no fallback to BOT_TOKEN (no handshake at all, not even an accepted one)",
    contract=Contract.BOT_TOKEN_PATH,
    accepts_contracts=ANY_FILE_DELIVERY,
    timings=FAIL_FAST,
    runner=RunnerOverride(
        'BOT_TOKEN="$(cat {token_file})" BOT_TOKEN_PATH={token_dir}/absent exec {runner}',
        why="a valid legacy BOT_TOKEN beside an unusable BOT_TOKEN_PATH",
    ),
    ends_with="runner-exit",
    expect=(
        ExitsWith(int(RunnerExit.TOKEN_FILE_UNUSABLE), within=s(10)),
        FailFastLogLine("{token_dir}/absent", "absent"),
        NoHandshakes(),
        NoTokenLeaks(),
    ),
)

# Offline long enough that only exit 66 (the file is gone) can end the runner, not a give-up.
KEY_REMOVED = Timings(
    refresh_every=s(3), max_token_age=s(10), duration=s(60), give_up_after=s(60), settle=s(60)
)

TOKEN_KEY_REMOVED = Scenario(
    name="token-key-removed-mid-session",
    kind="fault",
    description="the operator stops and the token key is removed from the Secret, so kubelet removes "
    "the file from the volume: a correct runner's next reconnect finds no file and exits 66 with a line "
    "naming the path, exactly as at start-up; it never connects with an empty or absent token",
    contract=Contract.BOT_TOKEN_PATH,
    timings=KEY_REMOVED,
    faults=(StopRefreshing(at=s(4)), RemoveTokenKey(at=s(5))),
    ends_with="runner-exit",
    expect=(
        ExitsWith(int(RunnerExit.TOKEN_FILE_UNUSABLE)),
        FailFastLogLine("{token_file}", "absent"),
        NoTokenlessHandshake(),
        NoTokenLeaks(),
    ),
)

# Offline budget long enough for the replaced Secret to rotate twice before the runner gives up.
# 12 s was not: on a loaded 2-core node the restarted operator took 8 s to start (its Python and
# kubernetes imports), replaced the Secret once, and the runner gave up 1 s later (kind, local and
# the existing-cluster test each showed it). The expectations are unchanged; only the runner's input is.
IMMUTABLE = replace(GIVES_UP, give_up_after=s(20))

IMMUTABLE_SECRET = Scenario(
    name="immutable-token-secret-replaced",
    kind="fault",
    description="the token Secret is made immutable mid-session (the operator away long enough for "
    "kubelet to read it so): no patch can refresh it, and kubelet stops watching it, so the running "
    "pod keeps its last token. The reference operator replaces it (delete, create mutable) and keeps "
    "rotating; the runner, whose mount is frozen, must fail loudly (exit 75 within its bound) so that "
    "a new pod mounts the replaced Secret",
    contract=Contract.BOT_TOKEN_PATH,
    accepts_contracts=ANY_FILE_DELIVERY,
    timings=IMMUTABLE,
    faults=(MakeTokenSecretImmutable(at=s(4), operator_away_for=s(9)),),
    ends_with="runner-exit",
    expect=(
        RotationsAfterFault(at_least=2),
        ExitsWith(int(RunnerExit.GAVE_UP)),
        GivesUpWithin(IMMUTABLE.give_up_after + GAVE_UP_BOUND - GIVES_UP.give_up_after),
        NoTokenLeaks(),
    ),
)

TRAILING_NEWLINE = Scenario(
    name="token-with-trailing-newline",
    kind="fault",
    description="another writer takes over the Secret and writes each new token with a trailing newline "
    "(kubectl create secret --from-file of a file ending in one): the runner strips it and survives",
    contract=Contract.BOT_TOKEN_PATH,
    accepts_contracts=ANY_FILE_DELIVERY,
    timings=FAST,
    faults=(TokensWrittenWithSuffix(at=s(2), suffix="\n", every=FAST.refresh_every),),
    expect=(NewTokenOnReconnect(at_least=2), *SURVIVES),
)

# The API server caches a successful token authentication for 10 s, so a revoked token can keep
# working that long.  Refreshes are rare here (every 40 s, tokens accepted for 60 s), so only an
# operator that notices the replaced ServiceAccount at once is back within the bound.
AUTH_CACHE = s(10)
REVOCATION = Timings(refresh_every=s(40), max_token_age=s(60), duration=s(45), give_up_after=s(60))
REVOKED_AT = s(6)

REVOKED_INSIDE_AUTH_CACHE = Scenario(
    name="service-account-recreated-within-auth-cache",
    kind="fault",
    description="the ServiceAccount is recreated (old tokens revoked) and the connection dropped at "
    "once, inside the API server's 10 s authentication cache, where the old token may still be "
    "accepted; dropped again just after the window, the runner must connect with a token of the new "
    "ServiceAccount within the window + 8 s",
    contract=Contract.BOT_TOKEN_PATH,
    accepts_contracts=ANY_FILE_DELIVERY,
    timings=REVOCATION,
    faults=(
        RecreateServiceAccount(at=REVOKED_AT),
        DropConnections(at=REVOKED_AT),
        DropConnections(at=REVOKED_AT + AUTH_CACHE + s(1)),
    ),
    expect=(RecoversWithin(AUTH_CACHE + s(8)), *SURVIVES),
)

BACKEND_AUDIENCE = "longhaul-backend"
AUDIENCE_HONOURED = Scenario(
    name="token-audience-honoured",
    description=f"the backend accepts only tokens for audience {BACKEND_AUDIENCE!r} (key set + aud "
    "check); the operator is told to mint for it, and the session survives rotations",
    contract=Contract.BOT_TOKEN_PATH,
    accepts_contracts=ANY_FILE_DELIVERY,
    timings=FAST,
    audiences=Audiences(backend=BACKEND_AUDIENCE, operator=BACKEND_AUDIENCE),
    expect=(TokensCarryAudience(BACKEND_AUDIENCE), NewTokenOnReconnect(at_least=3), *SURVIVES),
)

WRONG_AUDIENCE = Scenario(
    name="wrong-audience-fails-loudly",
    kind="fault",
    description=f"the operator is told to mint for another audience than the backend's "
    f"{BACKEND_AUDIENCE!r}: every handshake gets 401, the runner logs each rejection with its status "
    "and exits 75 within its bound instead of retrying forever",
    contract=Contract.BOT_TOKEN_PATH,
    accepts_contracts=ANY_FILE_DELIVERY,
    timings=replace(GIVES_UP, duration=s(60)),
    audiences=Audiences(backend=BACKEND_AUDIENCE, operator="some-other-service"),
    ends_with="runner-exit",
    expect=(
        EveryHandshakeRejected(status=401),
        # Measured from the container's start: its give-up budget plus what a loaded node takes to
        # start Python before the first attempt (the bound judges giving up, not start-up).
        ExitsWith(int(RunnerExit.GAVE_UP), within=GAVE_UP_BOUND + STARTUP_ALLOWANCE),
        RunnerLogMatches(r"(?i)rejected\b.*\bstatus[=: ]+401\b"),
        NoTokenLeaks(),
    ),
)

IN_THE_WILD = (
    ENV_TOKEN_BESIDE_UNUSABLE_FILE,
    TOKEN_KEY_REMOVED,
    IMMUTABLE_SECRET,
    TRAILING_NEWLINE,
    REVOKED_INSIDE_AUTH_CACHE,
    AUDIENCE_HONOURED,
    WRONG_AUDIENCE,
)

FAST_TIER = (LONG_SESSION, UPSTREAM_CONTRACT, LEGACY_ENV_FALLBACK, *FAILS_FAST, *FAULTS, *IN_THE_WILD)
SOAK_LONG_SESSION = Scenario(
    name="soak-long-session-real-token-lifetime",
    description="600 s TokenRequest tokens, the backend closing each connection at the token's exp, 27 min",
    contract=Contract.BOT_TOKEN_PATH,
    timings=SOAK,
    tier="soak",
    expect=(Rotations(at_least=3), NewTokenOnReconnect(at_least=2), *SURVIVES),
)
SOAK_TIER = (SOAK_LONG_SESSION,)

# The implementation's own declared refresh timing (its profile's [timing]), not one longhaul sets:
# the timings below are placeholders that binding.realtime_timings replaces (>= 3 rotations, ~25 min
# for a 10 min token refreshed at 7).  Judged from the Secret's history and each token's exp claim.
REFRESH_MARGIN = s(60)  # a token must be replaced at least this long before its exp
REALTIME_LONG_SESSION = Scenario(
    name="realtime-session-survives-declared-refresh",
    description="the implementation's own refresh threshold and token lifetime: at least 3 rotations, "
    "each token replaced before its exp minus a margin, the backend closing each connection at its "
    "token's exp, and the session uninterrupted",
    contract=Contract.BOT_TOKEN_PATH,
    accepts_contracts=ANY_FILE_DELIVERY,
    timings=SOAK,
    tier="realtime",
    expect=(
        Rotations(at_least=3),
        ReplacedBeforeExpiry(margin=REFRESH_MARGIN),
        NewTokenOnReconnect(at_least=2),
        *SURVIVES,
    ),
)
REALTIME_TIER = (REALTIME_LONG_SESSION,)
