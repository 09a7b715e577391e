"""Pure manifests for a session's children: ServiceAccount, Role, RoleBinding, Secret, Job.

Plain dicts in API-server JSON shape, so they can be diffed, property-tested
and sent by any client.  The three token contracts differ only in how the
runner container gets the token (:func:`_token_delivery`); everything else is
shared so a scenario comparing contracts compares exactly that.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from longhaul import contract
from longhaul.contract import Contract
from operator_stub.session import Session
from operator_stub.token_secret import MintedToken

MANAGED_BY: Final = "longhaul-operator"
CONTAINER_NAME: Final = "runner"

Manifest = dict[str, Any]
# How the runner container gets its token: (env, volumeMounts, volumes).  Public because the
# bug zoo replaces the rule that makes it.
TokenDelivery = tuple[list[Manifest], list[Manifest], list[Manifest]]
TokenDeliveryRule = Callable[[Session, Contract], TokenDelivery]


@dataclass(frozen=True)
class RunnerTemplate:
    """Operator-wide settings that shape every runner Job."""

    mode: Contract
    websocket_base: str  # ws://host:port, no path
    image: str = "longhaul/runner:latest"
    command: tuple[str, ...] | None = None
    image_pull_policy: str = "IfNotPresent"
    backoff_limit: int = 6


def labels(session: Session) -> dict[str, str]:
    return {contract.SESSION_LABEL: session.name, "app.kubernetes.io/managed-by": MANAGED_BY}


def _metadata(session: Session, name: str) -> Manifest:
    return {
        "name": name,
        "namespace": session.namespace,
        "labels": labels(session),
        "ownerReferences": [session.owner_reference()],
    }


def service_account(session: Session) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _metadata(session, session.service_account_name),
        # The token reaches the runner only through the Secret we rotate.
        "automountServiceAccountToken": False,
    }


def role(session: Session) -> Manifest:
    """Exactly what the backend's SelfSubjectAccessReview checks, plus this session's own status."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": _metadata(session, session.role_name),
        "rules": [
            {
                "apiGroups": [contract.GROUP],
                "resources": [contract.PLURAL],
                "verbs": ["get", "list", "watch"],
            },
            {
                "apiGroups": [contract.GROUP],
                "resources": [f"{contract.PLURAL}/status"],
                "resourceNames": [session.name],
                "verbs": ["get", "patch", "update"],
            },
        ],
    }


def role_binding(session: Session) -> Manifest:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": _metadata(session, session.role_name),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": session.role_name},
        "subjects": [
            {"kind": "ServiceAccount", "name": session.service_account_name, "namespace": session.namespace}
        ],
    }


def secret(session: Session, token: MintedToken) -> Manifest:
    body = secret_update(token)
    body["metadata"] = {**_metadata(session, session.secret_name), **body["metadata"]}
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", **body}


def secret_update(token: MintedToken) -> Manifest:
    """The patch that rotates an existing Secret: new data plus the annotations that describe it."""
    encoded = base64.b64encode(token.value.encode()).decode()
    return {"metadata": {"annotations": token.annotations()}, "data": {contract.TOKEN_SECRET_KEY: encoded}}


def websocket_url(template: RunnerTemplate, session: Session) -> str:
    return template.websocket_base + contract.websocket_path(session.namespace, session.name)


def job(session: Session, template: RunnerTemplate) -> Manifest:
    env, mounts, volumes = _token_delivery(session, template.mode)
    container: Manifest = {
        "name": CONTAINER_NAME,
        "image": template.image,
        "imagePullPolicy": template.image_pull_policy,
        "env": [
            {"name": contract.ENV_WEBSOCKET_URL, "value": websocket_url(template, session)},
            {"name": contract.ENV_SESSION_ID, "value": session.name},
            {"name": contract.ENV_SESSION_NAME, "value": session.name},
            {"name": contract.ENV_SESSION_NAMESPACE, "value": session.namespace},
            *env,
            *({"name": key, "value": value} for key, value in session.env),
        ],
        "volumeMounts": mounts,
        "securityContext": {"allowPrivilegeEscalation": False},
    }
    if template.command is not None:
        container["command"] = list(template.command)
    backoff = template.backoff_limit if session.backoff_limit is None else session.backoff_limit
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": _metadata(session, session.job_name),
        "spec": {
            "backoffLimit": backoff,
            "template": {
                "metadata": {"labels": labels(session)},
                "spec": {
                    "serviceAccountName": session.service_account_name,
                    "automountServiceAccountToken": False,
                    # Never, not OnFailure: each failure leaves its pod (exit code, logs) as
                    # evidence, and a deleted pod is replaced by the Job controller either way.
                    "restartPolicy": "Never",
                    "containers": [container],
                    "volumes": volumes,
                },
            },
        },
    }


def _token_delivery(session: Session, mode: Contract) -> TokenDelivery:
    """(env, volumeMounts, volumes) for one contract.

    Whole-directory mounts only: kubelet never updates a subPath mount, which
    is exactly the bug a rotated token must not hit.
    """
    if mode is Contract.LEGACY_ENV:
        ref = {"secretKeyRef": {"name": session.secret_name, "key": contract.TOKEN_SECRET_KEY}}
        return [{"name": contract.ENV_BOT_TOKEN, "valueFrom": ref}], [], []
    if mode is Contract.BOT_TOKEN_PATH:
        env = [
            {"name": contract.ENV_BOT_TOKEN_PATH, "value": contract.TOKEN_FILE_PATH},
            {"name": contract.ENV_RUNNER_CONTRACT, "value": mode.value},
        ]
        source: Manifest = {"secretName": session.secret_name}
        mount_dir = contract.TOKEN_MOUNT_DIR
    else:
        env = [{"name": contract.ENV_RUNNER_CONTRACT, "value": mode.value}]
        items = [{"key": contract.TOKEN_SECRET_KEY, "path": contract.UPSTREAM_ITEM_PATH}]
        source = {"secretName": session.secret_name, "items": items}
        mount_dir = contract.UPSTREAM_MOUNT_DIR
    mount = {"name": contract.TOKEN_VOLUME_NAME, "mountPath": mount_dir, "readOnly": True}
    volume = {"name": contract.TOKEN_VOLUME_NAME, "secret": source}
    return env, [mount], [volume]


def event(session: Session, reason: str, message: str, at: str) -> Manifest:
    """A core/v1 Event on the CR, so ``kubectl describe`` shows rotations next to the session."""
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"generateName": f"{session.name}.", "namespace": session.namespace},
        "involvedObject": {
            "apiVersion": f"{contract.GROUP}/{contract.VERSION}",
            "kind": contract.KIND,
            "name": session.name,
            "namespace": session.namespace,
            "uid": session.uid,
        },
        "reason": reason,
        "message": message,
        "type": "Normal",
        "source": {"component": MANAGED_BY},
        "firstTimestamp": at,
        "lastTimestamp": at,
        "count": 1,
    }
