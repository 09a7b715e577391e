"""Faults a scenario injects mid-session, each through the :class:`PlatformControls` a run provides.

A fault knows *what* to break; the platform knows *how* on this provider.
That keeps scenario definitions provider-neutral, and lets a fault that a
provider cannot perform (restarting the API server of someone else's
cluster) skip with a reason instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

from longhaul.capabilities import Capability

# A fault that stops the operator can only be applied to one the harness may stop and start.
STOPS_OPERATOR = frozenset({Capability.RESTART_OPERATOR})


class PlatformControls(Protocol):
    def delete_token_secret(self) -> None: ...

    def recreate_service_account(self) -> None: ...

    def restart_operator(self, down_for: float) -> None: ...

    def stop_operator(self) -> None: ...

    def restart_backend(self, down_for: float) -> None: ...

    def restart_cluster_component(self, component: str) -> None: ...

    def delete_runner_pod(self) -> None: ...

    def remove_token_key(self) -> None: ...

    def make_token_secret_immutable(self, operator_away_for: float) -> None: ...

    def drop_connections(self) -> None: ...

    def write_tokens_with_suffix(self, suffix: str, every: float) -> None: ...


@dataclass(frozen=True)
class DeleteTokenSecret:
    at: float

    @property
    def label(self) -> str:
        return "delete the token Secret"

    def apply(self, platform: PlatformControls) -> None:
        platform.delete_token_secret()


@dataclass(frozen=True)
class RecreateServiceAccount:
    """Delete and recreate the session's ServiceAccount: its old tokens are revoked at once."""

    at: float

    @property
    def label(self) -> str:
        return "recreate the ServiceAccount (revokes old tokens)"

    def apply(self, platform: PlatformControls) -> None:
        platform.recreate_service_account()


@dataclass(frozen=True)
class RestartOperator:
    needs: ClassVar[frozenset[Capability]] = STOPS_OPERATOR

    at: float
    down_for: float = 2.0

    @property
    def label(self) -> str:
        return f"restart the operator (down {self.down_for:g}s)"

    def apply(self, platform: PlatformControls) -> None:
        platform.restart_operator(self.down_for)


@dataclass(frozen=True)
class StopRefreshing:
    """The operator stops for good: tokens age past the backend's limit and reconnects must fail loudly."""

    needs: ClassVar[frozenset[Capability]] = STOPS_OPERATOR

    at: float

    @property
    def label(self) -> str:
        return "stop the operator (refresh stalls)"

    def apply(self, platform: PlatformControls) -> None:
        platform.stop_operator()


@dataclass(frozen=True)
class RestartBackend:
    at: float
    down_for: float = 2.0

    @property
    def label(self) -> str:
        return f"restart the backend (down {self.down_for:g}s)"

    def apply(self, platform: PlatformControls) -> None:
        platform.restart_backend(self.down_for)


@dataclass(frozen=True)
class RestartApiServer:
    """Needs the provider capability ``ComponentRestarter`` (local provider)."""

    at: float

    @property
    def label(self) -> str:
        return "restart kube-apiserver"

    def apply(self, platform: PlatformControls) -> None:
        platform.restart_cluster_component("kube-apiserver")


@dataclass(frozen=True)
class DeleteRunnerPod:
    """The Job replaces the pod; the new incarnation must pick the session up."""

    at: float

    @property
    def label(self) -> str:
        return "delete the runner pod"

    def apply(self, platform: PlatformControls) -> None:
        platform.delete_runner_pod()


@dataclass(frozen=True)
class RemoveTokenKey:
    """Remove the token key from the Secret (the file vanishes from the volume); the Secret stays.

    Pair it with :class:`StopRefreshing` first: a running operator puts the key back
    within a check period, which is its job, and would hide what the runner does.
    """

    at: float

    @property
    def label(self) -> str:
        return "remove the token key from the Secret"

    def apply(self, platform: PlatformControls) -> None:
        platform.remove_token_key()


@dataclass(frozen=True)
class MakeTokenSecretImmutable:
    """Set ``immutable: true`` on the token Secret, as a policy engine or an older operator might.

    From then on no patch of its data can succeed, and kubelet stops watching it
    for every pod that mounts it (``watch_based_manager.go``: "Stopped watching
    for changes - object is immutable") once it has read it so.  The operator is
    away for ``operator_away_for`` seconds meanwhile, longer than kubelet's pod
    resync (``syncFrequency`` 3 s + 50 % jitter): otherwise whether the running
    pod's mount freezes is a race between kubelet's next read and the operator's
    next check, and the scenario would show either outcome at random.
    """

    needs: ClassVar[frozenset[Capability]] = STOPS_OPERATOR

    at: float
    operator_away_for: float = 9.0

    @property
    def label(self) -> str:
        return f"make the token Secret immutable (operator away {self.operator_away_for:g}s)"

    def apply(self, platform: PlatformControls) -> None:
        platform.make_token_secret_immutable(self.operator_away_for)


@dataclass(frozen=True)
class DropConnections:
    """The backend closes the session's live connections now (1012): the runner must reconnect at once."""

    at: float

    @property
    def label(self) -> str:
        return "drop the runner's connections"

    def apply(self, platform: PlatformControls) -> None:
        platform.drop_connections()


@dataclass(frozen=True)
class TokensWrittenWithSuffix:
    """Another writer takes over the token Secret: the operator stops, and from now on a fresh
    TokenRequest token followed by ``suffix`` is written every ``every`` seconds.

    What ``kubectl create secret generic --from-file`` of a file ending in a newline,
    or a secret-sync tool copying such a file, produces.
    """

    needs: ClassVar[frozenset[Capability]] = STOPS_OPERATOR

    at: float
    suffix: str = "\n"
    every: float = 3.0

    @property
    def label(self) -> str:
        return f"tokens written with a trailing {self.suffix!r} every {self.every:g}s"

    def apply(self, platform: PlatformControls) -> None:
        platform.write_tokens_with_suffix(self.suffix, self.every)
