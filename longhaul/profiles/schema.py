"""What an implementation profile declares: the parts of a real platform longhaul must know to judge it.

longhaul's scenarios are written against behaviour (a token rotates, a reconnect
presents the new one, a broken mount fails fast), but finding that behaviour in
a cluster needs names: which custom resource starts a session, what the token
Secret is called, which pod is the runner, how the operator is started.  Those
names used to be longhaul's own contract (:mod:`longhaul.contract`); a profile
states them for one implementation, so a program built to its own conventions
is judged on its behaviour instead of on longhaul's spelling.

Plain frozen dataclasses, stdlib only: the scenarios (data) and the harness
both read them.  :mod:`longhaul.profiles.loader` builds them from TOML.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from longhaul.contract import Contract

EnvField = Literal["env", "environmentVariables"]
WorkloadKind = Literal["Job", "Pod"]
Discovery = Literal["label", "owner"]
Scope = Literal["namespace", "cluster"]
TimingMode = Literal["settable", "fixed"]
Protocol = Literal["longhaul-wire", "opaque"]
BackendReach = Literal["url", "service"]
BUILTIN = "builtin:reference"  # a manifest, RBAC or runner image longhaul ships for its own stubs


@dataclass(frozen=True)
class CrdSpec:
    group: str
    version: str
    plural: str
    kind: str
    manifest: str  # BUILTIN, or a path (resolved against the profile's directory)
    env_field: EnvField = "env"  # where the session's runner environment goes in spec
    optional_fields: frozenset[str] = frozenset()  # spec fields the CRD keeps, e.g. backoffLimit


@dataclass(frozen=True)
class Names:
    """Names derived from the session name; each is a template in which ``{session}`` stands for it."""

    service_account: str
    token_secret: str
    token_key: str  # the Secret's data key that holds the token
    refreshed_at_annotation: str  # on the Secret; "" when the operator writes none
    runner_container: str  # the container whose exit and log are the runner's


@dataclass(frozen=True)
class Workload:
    """What the runner runs as, and how longhaul finds its pods."""

    kind: WorkloadKind
    discovery: Discovery
    selector: str = ""  # discovery "label": a label selector template, e.g. "agentic-session={session}"


@dataclass(frozen=True)
class TokenDelivery:
    """How one token contract reaches the runner container (what the pod-spec expectation checks)."""

    contract: Contract
    mount_dir: str = ""  # the Secret volume's mount path; "" for the legacy env delivery
    volume: str = ""  # the volume's name, if the profile insists on one ("" : any Secret volume of it)
    item: str = ""  # the Secret key is mapped to this file name ("" : no item mapping, file = key)
    path_env: str = ""  # env var the operator sets to the token file's path ("" : a fixed path)
    legacy_env: str = ""  # legacy delivery: the env var that holds the token (secretKeyRef)

    def token_file(self, token_key: str) -> str:
        return f"{self.mount_dir}/{self.item or token_key}"


@dataclass(frozen=True)
class NamespacePrep:
    """What the operator needs of a namespace before it acts on it."""

    labels: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # name -> string data templates


@dataclass(frozen=True)
class OperatorSpec:
    command: str  # shell-quoted program, a template ({python}, {profile_dir})
    args: tuple[str, ...]  # argv templates after the command
    optional_args: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # placeholder -> argv
    env: Mapping[str, str] = field(default_factory=dict)  # templates, on top of a clean environment
    scope: Scope = "namespace"
    rbac: str = BUILTIN  # BUILTIN or a manifest path (ServiceAccount, ClusterRole, bindings)
    restartable: bool = True  # the harness may stop and start it mid-session


@dataclass(frozen=True)
class Timing:
    """How the operator's refresh is timed: settable (the fast tier) or fixed, and the real-time tier's."""

    mode: TimingMode
    refresh_threshold_s: float  # real-time tier (and fixed mode): refresh a token this old
    token_lifetime_s: int  # real-time tier (and fixed mode): TokenRequest expirationSeconds


@dataclass(frozen=True)
class RunnerSpec:
    """The runner program: where its image comes from, how it starts, what it speaks."""

    image: str = BUILTIN  # BUILTIN, or "ref:<image reference>"
    code: tuple[Path, ...] = ()  # code directories to build an image from (their own requirements)
    archive: Path | None = None  # an OCI layout/archive or `docker save` tar to load
    command: str = "python3 -m runner_stub"
    protocol: Protocol = "longhaul-wire"
    workload_env: Mapping[str, str] = field(
        default_factory=dict
    )  # {messages} {message_interval_s} {give_up_s}


@dataclass(frozen=True)
class BackendSpec:
    reach: BackendReach = "url"  # "url": {backend_url} is the host address; "service": a Service in the ns
    service_name: str = ""
    service_port: int = 0
    health_paths: tuple[str, ...] = ()  # paths the runner pod calls that are no session contact


@dataclass(frozen=True)
class ExitPolicy:
    """Exit codes a profile promises; None: any non-zero code is accepted for that outcome."""

    fail_fast: int | None = None
    gave_up: int | None = None
    no_token_source: int | None = None
    interrupted: int | None = None


@dataclass(frozen=True)
class Profile:
    name: str
    source: Path  # the file it was read from
    crd: CrdSpec
    names: Names
    workload: Workload
    deliveries: Mapping[Contract, TokenDelivery]
    operator: OperatorSpec
    timing: Timing
    runner: RunnerSpec
    backend: BackendSpec = field(default_factory=BackendSpec)
    namespace: NamespacePrep = field(default_factory=NamespacePrep)
    exit: ExitPolicy = field(default_factory=ExitPolicy)
    description: str = ""

    @property
    def directory(self) -> Path:
        return self.source.parent

    def resolve(self, relative: str | Path) -> Path:
        """A path the profile names, relative to the profile's own directory."""
        return (self.directory / relative).resolve()
