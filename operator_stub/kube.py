"""The few API calls the operator makes, through the official ``kubernetes`` client, as plain dicts.

Results are converted with ``ApiClient.sanitize_for_serialization`` so the rest
of the operator sees API-server JSON (camelCase) whichever generation of the
client is installed.  Reads map 404 to None; creates map 409 to "read what is
there", because a level-triggered reconciler racing with itself or with a
previous incarnation must treat "already exists" as success.  Errors become
:class:`ApiError`, which carries status and the server's message only: never
request bodies, which may hold a token.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import urllib3

# kubernetes >= 37 ships type hints, older releases do not: accept both.
from kubernetes import client, config  # type: ignore[import-untyped, unused-ignore]
from kubernetes.client import ApiException  # type: ignore[import-untyped, unused-ignore]

from longhaul import contract

FIELD_MANAGER: Final = "longhaul-operator"
REQUEST_TIMEOUT: Final = 30.0

Obj = dict[str, Any]


class ApiError(Exception):
    def __init__(self, action: str, status: int | None, reason: str, message: str = "") -> None:
        super().__init__(f"{action} failed: status={status} reason={reason} message={message}")
        self.action = action
        self.status = status
        self.reason = reason
        self.message = message


def tls_verification_disabled(api_client: Any) -> bool:
    """True when the kubeconfig says ``insecure-skip-tls-verify`` (common in throwaway test clusters)."""
    return getattr(api_client.configuration, "verify_ssl", True) is False


def connect(kubeconfig: str | None = None, context: str | None = None) -> Any:
    """An ``ApiClient``: kubeconfig/context if named, else in-cluster, else $KUBECONFIG or ~/.kube/config."""
    if kubeconfig is None and context is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        configuration = client.Configuration()
        config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call, unused-ignore]
        return client.ApiClient(configuration)
    return config.new_client_from_config(  # type: ignore[no-untyped-call, unused-ignore]
        config_file=kubeconfig, context=context, persist_config=False
    )


class KubeApi:
    def __init__(self, api_client: Any) -> None:
        self._client = api_client
        core = client.CoreV1Api(api_client)
        rbac = client.RbacAuthorizationV1Api(api_client)
        batch = client.BatchV1Api(api_client)
        self._core = core
        self._custom = client.CustomObjectsApi(api_client)
        self._readers: dict[str, Callable[..., Any]] = {
            "ServiceAccount": core.read_namespaced_service_account,
            "Role": rbac.read_namespaced_role,
            "RoleBinding": rbac.read_namespaced_role_binding,
            "Secret": core.read_namespaced_secret,
            "Job": batch.read_namespaced_job,
        }
        self._creators: dict[str, Callable[..., Any]] = {
            "ServiceAccount": core.create_namespaced_service_account,
            "Role": rbac.create_namespaced_role,
            "RoleBinding": rbac.create_namespaced_role_binding,
            "Secret": core.create_namespaced_secret,
            "Job": batch.create_namespaced_job,
        }

    def list_sessions(self, namespace: str | None) -> list[Obj]:
        args = (contract.GROUP, contract.VERSION)
        if namespace is None:
            lister = self._custom.list_cluster_custom_object
            result = self._call("list sessions", lister, *args, contract.PLURAL)
        else:
            result = self._call(
                f"list sessions in {namespace}",
                self._custom.list_namespaced_custom_object,
                *args,
                namespace,
                contract.PLURAL,
            )
        return list((result or {}).get("items") or [])

    def read(self, kind: str, namespace: str, name: str) -> Obj | None:
        try:
            return self._call(f"read {kind} {namespace}/{name}", self._readers[kind], name, namespace)
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def create(self, body: Mapping[str, Any], *, adopt_existing: bool = True) -> Obj:
        """Create ``body``; on 409 return the existing object (or raise, if ``adopt_existing`` is False)."""
        kind, namespace, name = body["kind"], body["metadata"]["namespace"], body["metadata"]["name"]
        try:
            return self._call(
                f"create {kind} {namespace}/{name}",
                self._creators[kind],
                namespace,
                dict(body),
                field_manager=FIELD_MANAGER,
            )
        except ApiError as exc:
            conflict = exc.status == 409 and adopt_existing
            existing = self.read(kind, namespace, name) if conflict else None
            if existing is None:
                raise
            return existing

    def patch_secret(self, namespace: str, name: str, patch: Mapping[str, Any]) -> Obj | None:
        """Strategic-merge patch; None if the Secret vanished meanwhile (the caller recreates it)."""
        try:
            return self._call(
                f"patch Secret {namespace}/{name}",
                self._core.patch_namespaced_secret,
                name,
                namespace,
                dict(patch),
                field_manager=FIELD_MANAGER,
            )
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def delete(self, kind: str, namespace: str, name: str) -> None:
        """Delete ``kind`` ``namespace/name``; one that is already gone counts as deleted."""
        deleters = {"Secret": self._core.delete_namespaced_secret}
        try:
            self._call(f"delete {kind} {namespace}/{name}", deleters[kind], name, namespace)
        except ApiError as exc:
            if exc.status != 404:
                raise

    def request_token(
        self, namespace: str, service_account: str, expiration_seconds: int, audiences: Sequence[str]
    ) -> tuple[str, str | None]:
        """TokenRequest -> (token, expirationTimestamp as RFC 3339 or None)."""
        body = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "spec": {"audiences": list(audiences), "expirationSeconds": expiration_seconds},
        }
        result = self._call(
            f"TokenRequest for ServiceAccount {namespace}/{service_account}",
            self._core.create_namespaced_service_account_token,
            service_account,
            namespace,
            body,
        )
        status = result.get("status") or {}
        token = status.get("token")
        if not isinstance(token, str) or not token.strip():
            raise ApiError("TokenRequest", None, "EmptyToken", "the API server returned no token")
        expires = status.get("expirationTimestamp")
        return token, str(expires) if expires else None

    def patch_session_status(self, namespace: str, name: str, status: Mapping[str, Any]) -> Obj | None:
        try:
            return self._call(
                f"patch status of {contract.KIND} {namespace}/{name}",
                self._custom.patch_namespaced_custom_object_status,
                contract.GROUP,
                contract.VERSION,
                namespace,
                contract.PLURAL,
                name,
                {"status": dict(status)},
            )
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def create_event(self, namespace: str, body: Mapping[str, Any]) -> None:
        self._call(f"create Event in {namespace}", self._core.create_namespaced_event, namespace, dict(body))

    def _call(self, action: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Obj:
        try:
            result = method(*args, _request_timeout=REQUEST_TIMEOUT, **kwargs)
        except ApiException as exc:
            raise ApiError(action, exc.status, str(exc.reason), _server_message(exc.body)) from None
        except (OSError, urllib3.exceptions.HTTPError) as exc:  # refused, reset, timed out, TLS
            raise ApiError(action, None, type(exc).__name__, str(exc)) from None
        sanitized = self._client.sanitize_for_serialization(result)
        return sanitized if isinstance(sanitized, dict) else {}


def _server_message(body: object) -> str:
    """The ``message`` of a Status response, trimmed; the raw body is never surfaced."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str) or not body:
        return ""
    try:
        parsed = json.loads(body)
    except ValueError:
        return ""
    message = parsed.get("message") if isinstance(parsed, dict) else None
    return str(message)[:300] if message else ""
