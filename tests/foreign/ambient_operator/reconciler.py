"""One reconcile pass of one AgenticSession.  Every behaviour is a method a variant can replace."""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from datetime import UTC, datetime
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from ambient_operator import resources as r
from ambient_operator.settings import MAX_REQUEUE_SECONDS, Settings

log = logging.getLogger("ambient_operator")

TERMINAL = ("Completed", "Failed")
FINISHED_POD_GRACE_SECONDS = 5.0
DELETING_POD_RECHECK_SECONDS = 0.5
FATAL_WAITING = {
    "ErrImagePull",
    "ImagePullBackOff",
    "ErrImageNeverPull",
    "InvalidImageName",
    "CreateContainerConfigError",
    "CreateContainerError",
}


def fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:8]


def now() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_rfc3339(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counters: dict[str, int] = {}

    def inc(self, name: str) -> None:
        with self._lock:
            self.counters[name] = self.counters.get(name, 0) + 1

    def render(self) -> str:
        with self._lock:
            items = sorted(self.counters.items())
        return "".join(f"ambient_operator_{k}_total {v}\n" for k, v in items)


class Reconciler:
    def __init__(
        self, api_client: client.ApiClient, settings: Settings, metrics: Metrics | None = None
    ) -> None:
        self.settings = settings
        self.core = client.CoreV1Api(api_client)
        self.rbac = client.RbacAuthorizationV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)
        self.metrics = metrics or Metrics()
        self._skipped: dict[tuple[str, str], str] = {}
        self._known_pods: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()

    # -- the pass ----------------------------------------------------------------------------
    def reconcile(self, namespace: str, name: str) -> float | None:
        """Bring one session a step closer to its desired state; seconds until the next look, or None."""
        self.metrics.inc("reconciles")
        session = self.get_session(namespace, name)
        if session is None or session["metadata"].get("deletionTimestamp"):
            with self._lock:
                self._skipped.pop((namespace, name), None)
            return None
        why = self.skip_reason(namespace)
        key = (namespace, name)
        if why:
            with self._lock:
                first = self._skipped.get(key) != why
                self._skipped[key] = why
            if first:
                log.info("skipping session %s/%s: %s", namespace, name, why)
            return MAX_REQUEUE_SECONDS  # labelling the namespace later is noticed at the next look
        with self._lock:
            self._skipped.pop(key, None)
        status = session.get("status") or {}
        phase = status.get("phase") or ""
        if phase in TERMINAL:
            return self.clean_up_finished(session)
        if not phase:
            self.set_status(session, phase="Pending", message="accepted by the operator")
            phase = "Pending"
        sa = self.ensure_service_account(session)
        self.ensure_rbac(session)
        self.ensure_token_secret(session, sa, phase)
        return self.ensure_pod(session, phase)

    def skip_reason(self, namespace: str) -> str | None:
        try:
            ns = self.core.read_namespace(namespace)
        except ApiException as exc:
            if exc.status == 404:
                return f"namespace {namespace} not found"
            raise
        labels = ns.metadata.labels or {}
        if labels.get(r.MANAGED_LABEL) != "true":
            return f"namespace {namespace} is not labelled {r.MANAGED_LABEL}=true"
        if self.read(self.core.read_namespaced_secret, r.RUNNER_SECRETS, namespace) is None:
            return f"namespace {namespace} has no Secret {r.RUNNER_SECRETS}"
        return None

    # -- children ----------------------------------------------------------------------------
    def ensure_service_account(self, session: dict[str, Any]) -> Any:
        ns, s = session["metadata"]["namespace"], session["metadata"]["name"]
        name = r.service_account_name(s)
        sa = self.read(self.core.read_namespaced_service_account, name, ns)
        if sa is None:
            sa = self.create(self.core.create_namespaced_service_account, ns, r.service_account(session))
            log.info("created ServiceAccount %s/%s", ns, name)
            if sa is None:
                sa = self.core.read_namespaced_service_account(name, ns)
        return sa

    def ensure_rbac(self, session: dict[str, Any]) -> None:
        ns, s = session["metadata"]["namespace"], session["metadata"]["name"]
        name = r.service_account_name(s)
        if self.read(self.rbac.read_namespaced_role, name, ns) is None:
            self.create(self.rbac.create_namespaced_role, ns, r.role(session))
            log.info("created Role %s/%s", ns, name)
        if self.read(self.rbac.read_namespaced_role_binding, name, ns) is None:
            self.create(self.rbac.create_namespaced_role_binding, ns, r.role_binding(session))
            log.info("created RoleBinding %s/%s", ns, name)

    def ensure_token_secret(self, session: dict[str, Any], sa: Any, phase: str) -> None:
        ns, s = session["metadata"]["namespace"], session["metadata"]["name"]
        name = r.secret_name(s)
        secret = self.read(self.core.read_namespaced_secret, name, ns)
        if secret is None:
            self.create_token_secret(session, sa, phase)
            return
        annotations = secret.metadata.annotations or {}
        data = secret.data or {}
        reason = None
        if r.TOKEN_KEY not in data:
            reason = f"key {r.TOKEN_KEY} missing"
        elif annotations.get(r.SA_UID) not in (None, sa.metadata.uid):
            reason = "ServiceAccount was recreated"
        elif self.refresh_due(annotations.get(r.REFRESHED_AT)):
            reason = "token due for refresh"
        if reason:
            self.refresh_token_secret(session, sa, reason)

    def create_token_secret(self, session: dict[str, Any], sa: Any, phase: str) -> None:
        ns, s = session["metadata"]["namespace"], session["metadata"]["name"]
        token = self.mint_token(ns, sa.metadata.name)
        body = r.token_secret(session, token, secrets.token_urlsafe(32), rfc3339(now()), sa.metadata.uid)
        self.create(self.core.create_namespaced_secret, ns, body)
        again = " (it was deleted while the session ran)" if phase not in ("", "Pending") else ""
        log.info("created Secret %s/%s token_fp=%s%s", ns, r.secret_name(s), fingerprint(token), again)
        self.metrics.inc("token_secrets_created")

    def refresh_due(self, refreshed_at: str | None) -> bool:
        stamp = parse_rfc3339(refreshed_at)
        if stamp is None:
            return True
        return (now() - stamp).total_seconds() >= self.settings.refresh_threshold_seconds

    def refresh_token_secret(self, session: dict[str, Any], sa: Any, reason: str) -> None:
        ns, s = session["metadata"]["namespace"], session["metadata"]["name"]
        token = self.mint_token(ns, sa.metadata.name)
        patch = {
            "metadata": {"annotations": {r.REFRESHED_AT: rfc3339(now()), r.SA_UID: sa.metadata.uid}},
            "stringData": {r.TOKEN_KEY: token},
        }
        try:
            self.core.patch_namespaced_secret(r.secret_name(s), ns, patch)
        except ApiException as exc:
            if exc.status != 422:  # 422: the Secret was made immutable; only a new one can carry a token
                raise
            log.info("Secret %s/%s is immutable; replacing it", ns, r.secret_name(s))
            self.core.delete_namespaced_secret(r.secret_name(s), ns)
            self.create_token_secret(session, sa, "Running")
            return
        log.info("refreshed Secret %s/%s token_fp=%s (%s)", ns, r.secret_name(s), fingerprint(token), reason)
        self.metrics.inc("token_refreshes")

    def mint_token(self, namespace: str, service_account: str) -> str:
        body = client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(
                audiences=[], expiration_seconds=self.settings.token_lifetime_seconds
            )
        )
        answer = self.core.create_namespaced_service_account_token(service_account, namespace, body)
        token = str(answer.status.token or "")
        if not token:
            raise RuntimeError(f"TokenRequest for {namespace}/{service_account} returned no token")
        return token

    # -- the pod -----------------------------------------------------------------------------
    def token_volume(self, session: dict[str, Any]) -> dict[str, Any]:
        return {
            "name": r.TOKEN_VOLUME,
            "secret": {
                "secretName": r.secret_name(session["metadata"]["name"]),
                "items": [{"key": r.TOKEN_KEY, "path": r.TOKEN_FILE}],
            },
        }

    def token_mount(self) -> dict[str, Any]:
        return {"name": r.TOKEN_VOLUME, "mountPath": r.TOKEN_MOUNT, "readOnly": True}

    def main_container(self, session: dict[str, Any]) -> dict[str, Any]:
        ns = session["metadata"]["namespace"]
        return {
            "name": r.MAIN_CONTAINER,
            "image": self.settings.runner_image,
            "imagePullPolicy": self.settings.image_pull_policy,
            "env": r.runner_env(session, self.settings.backend_url(ns)),
            "ports": [{"name": "health", "containerPort": r.HEALTH_PORT}],
            "livenessProbe": {
                "httpGet": {"path": "/health", "port": r.HEALTH_PORT},
                "initialDelaySeconds": 10,
                "periodSeconds": 10,
                "failureThreshold": 3,
            },
            "volumeMounts": [self.token_mount(), {"name": "workspace", "mountPath": r.WORKSPACE}],
        }

    def pod_body(self, session: dict[str, Any]) -> dict[str, Any]:
        s = session["metadata"]["name"]
        image, policy = self.settings.runner_image, self.settings.image_pull_policy
        workspace = {"name": "workspace", "mountPath": r.WORKSPACE}
        spec: dict[str, Any] = {
            "restartPolicy": "Never",
            "serviceAccountName": r.service_account_name(s),
            "automountServiceAccountToken": False,
            "volumes": [self.token_volume(session), {"name": "workspace", "emptyDir": {}}],
            "initContainers": [
                {
                    "name": r.INIT_CONTAINER,
                    "image": image,
                    "imagePullPolicy": policy,
                    "command": ["python3", "-c", r.INIT_SCRIPT],
                    "volumeMounts": [workspace],
                },
                {
                    "name": r.SIDECAR_CONTAINER,
                    "image": image,
                    "imagePullPolicy": policy,
                    "restartPolicy": "Always",
                    "command": ["python3", "-c", r.SIDECAR_SCRIPT],
                    "volumeMounts": [workspace],
                },
            ],
            "containers": [self.main_container(session)],
        }
        timeout = (session.get("spec") or {}).get("timeout")
        if timeout:
            spec["activeDeadlineSeconds"] = int(timeout)
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": r.child_meta(session, r.pod_name(s)),
            "spec": spec,
        }

    def ensure_pod(self, session: dict[str, Any], phase: str) -> float:
        ns, s = session["metadata"]["namespace"], session["metadata"]["name"]
        name = r.pod_name(s)
        pod = self.read(self.core.read_namespaced_pod, name, ns)
        if pod is not None and pod.metadata.deletion_timestamp:
            return DELETING_POD_RECHECK_SECONDS  # recreate under the same name once it is gone
        if pod is None:
            return self.create_pod(session, phase)
        key = (ns, name, pod.metadata.uid)
        with self._lock:
            adopted = key not in self._known_pods
            self._known_pods.add(key)
        if adopted:
            log.info("adopted existing Pod %s/%s", ns, name)
        return self.observe_pod(session, phase, pod)

    def create_pod(self, session: dict[str, Any], phase: str) -> float:
        ns, s = session["metadata"]["namespace"], session["metadata"]["name"]
        created = self.create(self.core.create_namespaced_pod, ns, self.pod_body(session))
        if created is not None:
            with self._lock:
                self._known_pods.add((ns, r.pod_name(s), created.metadata.uid))
        again = phase in ("Creating", "Running")
        log.info("%s Pod %s/%s", "recreated" if again else "created", ns, r.pod_name(s))
        self.metrics.inc("pods_created")
        if phase == "Pending":
            self.set_status(session, phase="Creating", message=f"runner pod {r.pod_name(s)} created")
        return self.settings.requeue_seconds

    def observe_pod(self, session: dict[str, Any], phase: str, pod: Any) -> float:
        main = next(
            (c for c in (pod.status.container_statuses or []) if c.name == r.MAIN_CONTAINER),
            None,
        )
        state = main.state if main else None
        if state is not None and state.terminated is not None:
            code = int(state.terminated.exit_code)
            if code == 0:
                self.finish(session, "Completed", "runner exited 0", 0)
            else:
                why = f" ({state.terminated.reason})" if state.terminated.reason else ""
                self.finish(session, "Failed", f"runner exited with code {code}{why}", code)
            return FINISHED_POD_GRACE_SECONDS
        if state is not None and state.waiting is not None and state.waiting.reason in FATAL_WAITING:
            self.finish(session, "Failed", f"runner cannot start: {state.waiting.reason}", None)
            return FINISHED_POD_GRACE_SECONDS
        if pod.status.phase == "Failed":
            self.finish(session, "Failed", f"runner pod failed: {pod.status.reason or 'unknown'}", None)
            return FINISHED_POD_GRACE_SECONDS
        if state is not None and state.running is not None and phase != "Running":
            self.set_status(session, phase="Running", message="runner is running", startTime=rfc3339(now()))
        return self.settings.requeue_seconds

    def finish(self, session: dict[str, Any], phase: str, message: str, code: int | None) -> None:
        fields: dict[str, Any] = {"phase": phase, "message": message, "completionTime": rfc3339(now())}
        if code is not None:
            fields["exitCode"] = code
        self.set_status(session, **fields)

    def clean_up_finished(self, session: dict[str, Any]) -> float | None:
        """A finished session's pod is deleted after a short grace (status and logs are read first)."""
        ns, s = session["metadata"]["namespace"], session["metadata"]["name"]
        done = parse_rfc3339((session.get("status") or {}).get("completionTime"))
        waited = (now() - done).total_seconds() if done else FINISHED_POD_GRACE_SECONDS
        if waited < FINISHED_POD_GRACE_SECONDS:
            return FINISHED_POD_GRACE_SECONDS - waited
        pod = self.read(self.core.read_namespaced_pod, r.pod_name(s), ns)
        if pod is not None and not pod.metadata.deletion_timestamp:
            try:
                self.core.delete_namespaced_pod(r.pod_name(s), ns)
                log.info("deleted finished Pod %s/%s", ns, r.pod_name(s))
            except ApiException as exc:
                if exc.status != 404:
                    raise
        return None

    # -- status and helpers ------------------------------------------------------------------
    def get_session(self, namespace: str, name: str) -> dict[str, Any] | None:
        try:
            found = self.custom.get_namespaced_custom_object(r.GROUP, r.VERSION, namespace, r.PLURAL, name)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return dict(found)

    def set_status(self, session: dict[str, Any], **fields: Any) -> None:
        ns, s = session["metadata"]["namespace"], session["metadata"]["name"]
        old = (session.get("status") or {}).get("phase") or "-"
        try:
            self.custom.patch_namespaced_custom_object_status(
                r.GROUP, r.VERSION, ns, r.PLURAL, s, {"status": fields}
            )
        except ApiException as exc:
            if exc.status == 404:
                return
            raise
        session.setdefault("status", {}).update(fields)
        if fields.get("phase") and fields["phase"] != old:
            log.info(
                "session %s/%s phase %s -> %s: %s", ns, s, old, fields["phase"], fields.get("message", "")
            )

    @staticmethod
    def read(method: Any, name: str, namespace: str) -> Any:
        try:
            return method(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    @staticmethod
    def create(method: Any, namespace: str, body: dict[str, Any]) -> Any:
        try:
            return method(namespace, body)
        except ApiException as exc:
            if exc.status == 409:  # made by an earlier pass or another worker
                return None
            raise
