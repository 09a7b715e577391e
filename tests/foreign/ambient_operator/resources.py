"""Names and manifests of what the operator makes per AgenticSession (plain dicts for the client)."""

from __future__ import annotations

from typing import Any, Final

GROUP: Final = "vteam.ambient-code"
VERSION: Final = "v1alpha1"
PLURAL: Final = "agenticsessions"
KIND: Final = "AgenticSession"

MANAGED_LABEL: Final = "ambient-code.io/managed"
RUNNER_SECRETS: Final = "ambient-runner-secrets"
SESSION_LABEL: Final = "agentic-session"
REFRESHED_AT: Final = "ambient-code.io/token-refreshed-at"
SA_UID: Final = "ambient-code.io/service-account-uid"

TOKEN_KEY: Final = "k8s-token"
AGUI_KEY: Final = "agui-token"
TOKEN_VOLUME: Final = "runner-token"
TOKEN_MOUNT: Final = "/var/run/secrets/ambient"
TOKEN_FILE: Final = "bot-token"
WORKSPACE: Final = "/workspace"

MAIN_CONTAINER: Final = "ambient-code-runner"
INIT_CONTAINER: Final = "init-workspace"
SIDECAR_CONTAINER: Final = "ambient-content"
HEALTH_PORT: Final = 8001
RESERVED_ENV: Final = ("AGENTIC_SESSION_NAME", "AGENTIC_SESSION_NAMESPACE", "BACKEND_API_URL")

# The init container prepares the shared workspace and exits 0.
INIT_SCRIPT: Final = (
    "import pathlib, time; p = pathlib.Path('/workspace'); (p / 'session').mkdir(exist_ok=True); "
    "(p / '.initialized').write_text(time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())); "
    "print('workspace ready')"
)
# The sidecar is a native sidecar (an init container with restartPolicy Always): the kubelet stops it
# once the main container has exited, so the pod finishes with the runner.  It must exit on SIGTERM
# itself: as PID 1 with no handler it would ignore the signal and hold the pod for the grace period.
SIDECAR_SCRIPT: Final = (
    "import signal, sys, time; signal.signal(signal.SIGTERM, lambda *_: sys.exit(0)); "
    "print('content sidecar up', flush=True)\nwhile True: time.sleep(3600)"
)


def service_account_name(session: str) -> str:
    return f"ambient-session-{session}"


def secret_name(session: str) -> str:
    return f"ambient-runner-token-{session}"


def pod_name(session: str) -> str:
    return f"{session}-runner"


def owner_reference(session: dict[str, Any]) -> dict[str, Any]:
    meta = session["metadata"]
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": KIND,
        "name": meta["name"],
        "uid": meta["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def child_meta(session: dict[str, Any], name: str, **extra: Any) -> dict[str, Any]:
    meta = session["metadata"]
    return {
        "name": name,
        "namespace": meta["namespace"],
        "labels": {SESSION_LABEL: meta["name"]},
        "ownerReferences": [owner_reference(session)],
        **extra,
    }


def service_account(session: dict[str, Any]) -> dict[str, Any]:
    name = service_account_name(session["metadata"]["name"])
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": child_meta(session, name)}


def role(session: dict[str, Any]) -> dict[str, Any]:
    """What the runner's token may do: read sessions of its namespace (the backend checks `list`),
    and report on its own session's status."""
    s = session["metadata"]["name"]
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": child_meta(session, service_account_name(s)),
        "rules": [
            {"apiGroups": [GROUP], "resources": [PLURAL], "verbs": ["get", "list", "watch"]},
            {
                "apiGroups": [GROUP],
                "resources": [f"{PLURAL}/status"],
                "resourceNames": [s],
                "verbs": ["get", "update", "patch"],
            },
        ],
    }


def role_binding(session: dict[str, Any]) -> dict[str, Any]:
    s = session["metadata"]["name"]
    name = service_account_name(s)
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": child_meta(session, name),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": session["metadata"]["namespace"]}],
    }


def token_secret(
    session: dict[str, Any], token: str, agui_token: str, refreshed_at: str, sa_uid: str
) -> dict[str, Any]:
    name = secret_name(session["metadata"]["name"])
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": child_meta(session, name, annotations={REFRESHED_AT: refreshed_at, SA_UID: sa_uid}),
        "stringData": {TOKEN_KEY: token, AGUI_KEY: agui_token},
    }


def runner_env(session: dict[str, Any], backend_url: str) -> list[dict[str, str]]:
    meta = session["metadata"]
    spec = session.get("spec") or {}
    user = spec.get("environmentVariables") or {}
    env = [{"name": k, "value": str(v)} for k, v in sorted(user.items()) if k not in RESERVED_ENV]
    return [
        *env,
        {"name": "AGENTIC_SESSION_NAME", "value": meta["name"]},
        {"name": "AGENTIC_SESSION_NAMESPACE", "value": meta["namespace"]},
        {"name": "BACKEND_API_URL", "value": backend_url},
    ]
