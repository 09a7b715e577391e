"""The operator's configuration: environment variables for behaviour, flags for the process."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

DEFAULT_LIFETIME_SECONDS = 3600
DEFAULT_THRESHOLD_SECONDS = 2700  # 45 min
MAX_REQUEUE_SECONDS = 30.0
MIN_REQUEUE_SECONDS = 0.5


class SettingsError(Exception):
    """The environment is unusable; the process exits 2."""


@dataclass(frozen=True)
class Settings:
    runner_image: str
    image_pull_policy: str
    backend_namespace: str | None
    token_lifetime_seconds: int
    refresh_threshold_seconds: float

    @property
    def requeue_seconds(self) -> float:
        """How often a live session is looked at again: min(30 s, threshold / 4)."""
        return max(MIN_REQUEUE_SECONDS, min(MAX_REQUEUE_SECONDS, self.refresh_threshold_seconds / 4))

    def backend_url(self, session_namespace: str) -> str:
        namespace = self.backend_namespace or session_namespace
        return f"http://backend-service.{namespace}.svc.cluster.local:8080/api"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        image = env.get("AMBIENT_CODE_RUNNER_IMAGE", "").strip()
        if not image:
            raise SettingsError("AMBIENT_CODE_RUNNER_IMAGE is required (the runner container's image)")
        policy = env.get("IMAGE_PULL_POLICY", "").strip() or "IfNotPresent"
        if policy not in ("Always", "IfNotPresent", "Never"):
            raise SettingsError(f"IMAGE_PULL_POLICY must be Always, IfNotPresent or Never, got {policy!r}")

        def seconds(name: str, default: int, minimum: int) -> int:
            raw = env.get(name, "").strip() or str(default)
            try:
                value = int(raw)
            except ValueError:
                raise SettingsError(f"{name} must be a whole number of seconds, got {raw!r}") from None
            if value < minimum:
                raise SettingsError(f"{name} must be >= {minimum}, got {value}")
            return value

        return cls(
            runner_image=image,
            image_pull_policy=policy,
            backend_namespace=env.get("BACKEND_NAMESPACE", "").strip() or None,
            token_lifetime_seconds=seconds("TOKEN_LIFETIME_SECONDS", DEFAULT_LIFETIME_SECONDS, 600),
            refresh_threshold_seconds=seconds(
                "TOKEN_REFRESH_THRESHOLD_SECONDS", DEFAULT_THRESHOLD_SECONDS, 1
            ),
        )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="ambient_operator",
        description="Reconciles AgenticSessions (vteam.ambient-code/v1alpha1) into runner pods. "
        "Behaviour is configured by environment variables: AMBIENT_CODE_RUNNER_IMAGE (required), "
        "IMAGE_PULL_POLICY, BACKEND_NAMESPACE, TOKEN_LIFETIME_SECONDS, TOKEN_REFRESH_THRESHOLD_SECONDS.",
    )
    parser.add_argument(
        "--kubeconfig", default=None, help="kubeconfig (default: $KUBECONFIG, in-cluster, ~/.kube)"
    )
    parser.add_argument("--metrics-bind-address", default=":8080", help="host:port for /metrics; 0 disables")
    parser.add_argument(
        "--health-probe-bind-address", default=":8081", help="host:port for /healthz; 0 disables"
    )
    parser.add_argument("--leader-elect", action="store_true", help="hold a Lease before reconciling")
    parser.add_argument("--max-concurrent-reconciles", type=int, default=1, help="reconcile workers")
    args = parser.parse_args(argv)
    if args.max_concurrent_reconciles < 1:
        parser.error("--max-concurrent-reconciles must be >= 1")
    return args


def bind_address(value: str) -> tuple[str, int] | None:
    """``":8080"`` -> ("0.0.0.0", 8080); ``":0"`` -> a free port; ``"0"`` or ``""`` -> disabled."""
    value = value.strip()
    if value in ("", "0"):
        return None
    host, sep, port = value.rpartition(":")
    if not sep:
        raise ValueError(f"bind address must be host:port, got {value!r}")
    return (host.strip("[]") or "0.0.0.0", int(port))
