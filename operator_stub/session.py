"""An ``AgenticSession`` custom resource, validated once into the names the contract derives.

Everything downstream (rendering, planning) takes a :class:`Session`, never the
raw object, so a malformed CR is rejected in one place with one clear message
instead of failing half-way through creating its children.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from longhaul import contract

# The Job controller copies the Job name into the pod label ``job-name``; label
# values are at most 63 characters, so ``<session>-job`` caps session names.
MAX_LABEL_VALUE: Final = 63
MAX_SESSION_NAME: Final = MAX_LABEL_VALUE - len(contract.job_name(""))
MAX_SUBDOMAIN: Final = 253

_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

# Env the operator owns: a CR may not override the contract it is testing.
RESERVED_ENV: Final = frozenset(
    {
        contract.ENV_WEBSOCKET_URL,
        contract.ENV_BOT_TOKEN_PATH,
        contract.ENV_BOT_TOKEN,
        contract.ENV_SESSION_ID,
        contract.ENV_SESSION_NAME,
        contract.ENV_SESSION_NAMESPACE,
        contract.ENV_RUNNER_CONTRACT,
    }
)


class InvalidSession(ValueError):
    """The CR cannot be turned into a runner; the message says why, for status and logs."""


def is_dns_subdomain(value: str, max_len: int = MAX_SUBDOMAIN) -> bool:
    return 0 < len(value) <= max_len and _SUBDOMAIN.fullmatch(value) is not None


def is_dns_label(value: str) -> bool:
    return 0 < len(value) <= MAX_LABEL_VALUE and _LABEL.fullmatch(value) is not None


@dataclass(frozen=True)
class Session:
    namespace: str
    name: str
    uid: str
    secret_name: str
    env: tuple[tuple[str, str], ...] = ()
    backoff_limit: int | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def service_account_name(self) -> str:
        return contract.service_account_name(self.name)

    @property
    def role_name(self) -> str:
        return contract.service_account_name(self.name)

    @property
    def job_name(self) -> str:
        return contract.job_name(self.name)

    def owner_reference(self) -> dict[str, Any]:
        """Controller reference so deleting the CR garbage-collects every child."""
        return {
            "apiVersion": f"{contract.GROUP}/{contract.VERSION}",
            "kind": contract.KIND,
            "name": self.name,
            "uid": self.uid,
            "controller": True,
            "blockOwnerDeletion": True,
        }

    @classmethod
    def from_object(cls, obj: Mapping[str, Any]) -> Session:
        meta = _mapping(obj.get("metadata"), "metadata")
        namespace = str(meta.get("namespace") or "")
        name = str(meta.get("name") or "")
        uid = str(meta.get("uid") or "")
        if not is_dns_label(namespace):
            raise InvalidSession(f"namespace {namespace!r} is not a DNS-1123 label")
        if len(name) > MAX_SESSION_NAME:
            raise InvalidSession(
                f"name {name!r} has {len(name)} characters; at most {MAX_SESSION_NAME} are allowed "
                f"because Job {contract.job_name(name)!r} must fit the {MAX_LABEL_VALUE}-character "
                "job-name pod label"
            )
        if not is_dns_subdomain(name):
            raise InvalidSession(f"name {name!r} is not a DNS-1123 subdomain")
        if not uid:
            raise InvalidSession("metadata.uid is empty; children need it for their owner reference")
        annotations = _mapping(meta.get("annotations"), "metadata.annotations")
        secret_name = contract.secret_name(name)
        if contract.SECRET_NAME_ANNOTATION in annotations:
            secret_name = str(annotations[contract.SECRET_NAME_ANNOTATION])
            if not is_dns_subdomain(secret_name):
                raise InvalidSession(
                    f"annotation {contract.SECRET_NAME_ANNOTATION}={secret_name!r} is not a valid Secret name"
                )
        spec = _mapping(obj.get("spec"), "spec")
        return cls(
            namespace=namespace,
            name=name,
            uid=uid,
            secret_name=secret_name,
            env=_parse_env(spec.get("env")),
            backoff_limit=_parse_backoff_limit(spec.get("backoffLimit")),
        )


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidSession(f"{where} must be an object, got {type(value).__name__}")
    return value


def _parse_env(value: object) -> tuple[tuple[str, str], ...]:
    env = _mapping(value, "spec.env")
    for key, item in env.items():
        if not isinstance(key, str) or _ENV_NAME.fullmatch(key) is None:
            raise InvalidSession(f"spec.env key {key!r} is not a valid environment variable name")
        if key in RESERVED_ENV:
            raise InvalidSession(f"spec.env may not set {key}: the operator owns it (token contract)")
        if not isinstance(item, str):
            raise InvalidSession(f"spec.env[{key}] must be a string, got {type(item).__name__}")
    return tuple(sorted(env.items()))


def _parse_backoff_limit(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidSession(f"spec.backoffLimit must be a non-negative integer, got {value!r}")
    return value
