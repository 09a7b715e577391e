"""Operator settings from flags, with ``LONGHAUL_OPERATOR_*`` environment fallbacks.

Parsing is a pure function of (argv, environ) that either returns one frozen
:class:`OperatorSettings` or raises :class:`SettingsError` with a message naming
the flag and the accepted form, so a bad deployment fails at start-up instead
of minting tokens that expire before they are replaced.
"""

from __future__ import annotations

import argparse
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Final, NoReturn
from urllib.parse import urlsplit

from longhaul.contract import Contract
from operator_stub.refresh import RefreshPolicy
from operator_stub.render import RunnerTemplate
from operator_stub.session import is_dns_label

ENV_PREFIX: Final = "LONGHAUL_OPERATOR_"
# TokenRequest rejects shorter: "may not specify a duration less than 10 minutes".
MIN_TOKEN_EXPIRATION: Final = 600
MAX_TOKEN_EXPIRATION: Final = 2**32  # --service-account-max-token-expiration upper bound
PULL_POLICIES: Final = ("Always", "IfNotPresent", "Never")

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_SECONDS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class SettingsError(ValueError):
    """A flag or environment value is unusable; the message says which and why."""


def parse_duration(text: str, what: str) -> timedelta:
    """``45m``, ``30s``, ``1h30m``, ``500ms`` or a bare number of seconds; strictly positive."""
    raw = text.strip()
    seconds: float | None = None
    if re.fullmatch(r"\d+(?:\.\d+)?", raw):
        seconds = float(raw)
    elif raw and re.fullmatch(rf"(?:{_DURATION_PART.pattern})+", raw):
        seconds = sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(raw))
    if seconds is None:
        raise SettingsError(
            f"{what}: invalid duration {text!r}; expected a number with an optional unit ms/s/m/h, "
            "e.g. 45m, 30s, 1h30m or 5"
        )
    if seconds <= 0:
        raise SettingsError(f"{what}: duration {text!r} must be greater than zero")
    return timedelta(seconds=seconds)


def websocket_base(backend_url: str) -> str:
    """``http://host:port`` -> ``ws://host:port`` (https/wss -> wss); the runner path is appended later."""
    parts = urlsplit(backend_url.strip())
    if parts.scheme not in ("http", "https", "ws", "wss") or not parts.hostname:
        raise SettingsError(
            f"--backend-url: {backend_url!r} is not an http(s):// or ws(s):// URL with a host, "
            "e.g. http://198.18.0.1:8765"
        )
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise SettingsError(
            f"--backend-url: {backend_url!r} must not carry a path, query or fragment; "
            "the session path /api/projects/<ns>/sessions/<name>/ws is appended by the operator"
        )
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        raise SettingsError(f"--backend-url: {backend_url!r} has an invalid port: {exc}") from None
    scheme = "wss" if parts.scheme in ("https", "wss") else "ws"
    return f"{scheme}://{parts.netloc}"


@dataclass(frozen=True)
class OperatorSettings:
    backend_url: str
    websocket_base: str
    mode: Contract = Contract.BOT_TOKEN_PATH
    kubeconfig: str | None = None
    context: str | None = None
    namespaces: tuple[str, ...] = ()  # empty: every namespace
    runner_image: str = "longhaul/runner:latest"
    runner_command: tuple[str, ...] | None = None
    image_pull_policy: str = "IfNotPresent"
    token_expiration_seconds: int = 3600
    token_audiences: tuple[str, ...] = ()  # empty: the API server's own audiences
    refresh_interval: timedelta = timedelta(minutes=45)
    check_period: timedelta = timedelta(seconds=5)
    propagation_allowance: timedelta = timedelta(seconds=90)
    backoff_limit: int = 6
    once: bool = False

    def runner_template(self) -> RunnerTemplate:
        return RunnerTemplate(
            mode=self.mode,
            websocket_base=self.websocket_base,
            image=self.runner_image,
            command=self.runner_command,
            image_pull_policy=self.image_pull_policy,
            backoff_limit=self.backoff_limit,
        )

    def refresh_policy(self) -> RefreshPolicy:
        return RefreshPolicy(
            interval=self.refresh_interval,
            check_period=self.check_period,
            propagation_allowance=self.propagation_allowance,
        )

    def describe(self) -> dict[str, str]:
        """Fields for the start-up log line (settings hold no secrets)."""
        return {
            "mode": self.mode.value,
            "namespaces": ",".join(self.namespaces) or "*",
            "websocket_base": self.websocket_base,
            "image": self.runner_image,
            "expiration": f"{self.token_expiration_seconds}s",
            "refresh": f"{self.refresh_interval.total_seconds():g}s",
            "check": f"{self.check_period.total_seconds():g}s",
        }


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise SettingsError(message)


def _parser() -> _Parser:
    p = _Parser(prog="python -m operator_stub", description="longhaul reference operator")
    p.add_argument("--kubeconfig", help="kubeconfig file (default: in-cluster, then $KUBECONFIG)")
    p.add_argument("--context", help="kubeconfig context")
    p.add_argument("--namespace", action="append", help="watch this namespace (repeatable)")
    p.add_argument("--all-namespaces", action="store_true", default=None, help="watch every namespace")
    p.add_argument("--mode", help="|".join(c.value for c in Contract) + " (default bot-token-path)")
    p.add_argument("--backend-url", help="backend base URL, e.g. http://198.18.0.1:8765 (required)")
    p.add_argument("--runner-image", help="runner image (default longhaul/runner:latest)")
    p.add_argument("--runner-command", help="runner argv override, shell-quoted")
    p.add_argument("--image-pull-policy", help="/".join(PULL_POLICIES) + " (default IfNotPresent)")
    p.add_argument("--token-expiration-seconds", help="TokenRequest expirationSeconds, >= 600 (default 3600)")
    p.add_argument("--token-audience", action="append", help="TokenRequest audience (repeatable)")
    p.add_argument("--refresh-interval", help="re-mint after this long, e.g. 45m, 30s, 5 (default 45m)")
    p.add_argument("--check-period", help="reconcile every (default 5s)")
    p.add_argument("--propagation-allowance", help="time kubelet may take to update a mount (default 90s)")
    p.add_argument("--backoff-limit", help="Job backoffLimit unless a CR sets spec.backoffLimit (default 6)")
    p.add_argument("--once", action="store_true", default=None, help="one reconcile pass, then exit")
    return p


def parse_settings(argv: Sequence[str], environ: Mapping[str, str]) -> OperatorSettings:
    args = _parser().parse_args(list(argv))

    def value(flag: str, default: str | None = None) -> str | None:
        given: str | None = getattr(args, flag.replace("-", "_"))
        if given is not None:
            return given
        return environ.get(ENV_PREFIX + flag.upper().replace("-", "_"), default)

    def values(flag: str, env_name: str) -> tuple[str, ...]:
        given: list[str] | None = getattr(args, flag.replace("-", "_"))
        if given is not None:
            return tuple(given)
        raw = environ.get(ENV_PREFIX + env_name, "")
        return tuple(item.strip() for item in raw.split(",") if item.strip())

    def flag_on(flag: str) -> bool:
        if getattr(args, flag.replace("-", "_")):
            return True
        raw = environ.get(ENV_PREFIX + flag.upper().replace("-", "_"), "")
        return raw.strip().lower() in ("1", "true", "yes", "on")

    backend_url = value("backend-url")
    if not backend_url:
        raise SettingsError(f"--backend-url (or {ENV_PREFIX}BACKEND_URL) is required")
    namespaces = values("namespace", "NAMESPACES")
    if namespaces and flag_on("all-namespaces"):
        raise SettingsError("--namespace and --all-namespaces are mutually exclusive")
    for namespace in namespaces:
        if not is_dns_label(namespace):
            raise SettingsError(f"--namespace: {namespace!r} is not a valid namespace name")
    settings = OperatorSettings(
        backend_url=backend_url,
        websocket_base=websocket_base(backend_url),
        mode=_mode(value("mode", Contract.BOT_TOKEN_PATH.value) or ""),
        kubeconfig=value("kubeconfig"),
        context=value("context"),
        namespaces=tuple(dict.fromkeys(namespaces)),
        runner_image=_non_empty("--runner-image", value("runner-image", "longhaul/runner:latest")),
        runner_command=_command(value("runner-command")),
        image_pull_policy=_pull_policy(value("image-pull-policy", "IfNotPresent") or ""),
        token_expiration_seconds=_expiration(value("token-expiration-seconds", "3600") or ""),
        token_audiences=values("token-audience", "TOKEN_AUDIENCES"),
        refresh_interval=parse_duration(value("refresh-interval", "45m") or "", "--refresh-interval"),
        check_period=parse_duration(value("check-period", "5s") or "", "--check-period"),
        propagation_allowance=parse_duration(
            value("propagation-allowance", "90s") or "", "--propagation-allowance"
        ),
        backoff_limit=_non_negative_int("--backoff-limit", value("backoff-limit", "6") or ""),
        once=flag_on("once"),
    )
    try:
        settings.refresh_policy().validate_lifetime(timedelta(seconds=settings.token_expiration_seconds))
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    return settings


def _mode(text: str) -> Contract:
    try:
        return Contract(text.strip())
    except ValueError:
        choices = ", ".join(c.value for c in Contract)
        raise SettingsError(f"--mode: {text!r} is not one of {choices}") from None


def _non_empty(flag: str, text: str | None) -> str:
    if not text or not text.strip():
        raise SettingsError(f"{flag} must not be empty")
    return text.strip()


def _command(text: str | None) -> tuple[str, ...] | None:
    if text is None or not text.strip():
        return None
    try:
        return tuple(shlex.split(text))
    except ValueError as exc:
        raise SettingsError(f"--runner-command: cannot split {text!r}: {exc}") from None


def _pull_policy(text: str) -> str:
    if text not in PULL_POLICIES:
        raise SettingsError(f"--image-pull-policy: {text!r} is not one of {', '.join(PULL_POLICIES)}")
    return text


def _non_negative_int(flag: str, text: str) -> int:
    try:
        number = int(text.strip())
    except ValueError:
        raise SettingsError(f"{flag}: {text!r} is not an integer") from None
    if number < 0:
        raise SettingsError(f"{flag}: {number} must not be negative")
    return number


def _expiration(text: str) -> int:
    seconds = _non_negative_int("--token-expiration-seconds", text)
    if not MIN_TOKEN_EXPIRATION <= seconds <= MAX_TOKEN_EXPIRATION:
        raise SettingsError(
            f"--token-expiration-seconds: {seconds} is outside [{MIN_TOKEN_EXPIRATION}, "
            f"{MAX_TOKEN_EXPIRATION}]; TokenRequest rejects durations under 10 minutes"
        )
    return seconds
