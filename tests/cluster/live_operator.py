"""The reference operator's reconcile code against a real cluster, and an admin's view of what it made.

:class:`LiveOperator` is one operator "process" run in-process: the program's
own path (``kube.connect`` on a kubeconfig, ``KubeApi``, ``Reconciler``,
``EventLog``), acting as the operator's least-privilege ServiceAccount.  In
process so a test can run a pass exactly when its scenario needs one and read
the log and the API calls of that operator; ``python -m operator_stub`` as a
real process is covered by the tests about the program.

:class:`SessionView` reads and changes the namespace as cluster-admin, which is
how a test stays independent of the code it checks.
"""

from __future__ import annotations

import base64
import io
import shlex
from collections.abc import Callable
from datetime import datetime
from typing import Any, Final

from kubernetes import client
from kubernetes.client.rest import ApiException

from longhaul import contract
from longhaul.fixtures.engine.launch import OperatorFlags
from longhaul.fixtures.kube.operator_identity import OperatorIdentity
from longhaul.fixtures.rigs.api_calls import RecordingApiClient
from operator_stub import kube
from operator_stub.eventlog import EventLog
from operator_stub.reconcile import Reconciler
from operator_stub.settings import parse_settings

G: Final = contract.GROUP
BACKEND_URL: Final = "http://198.18.0.1:8765"  # never dialled: the parked runner does not connect
EXIT_CODE_KEY: Final = "exit-code"

# The runner container of these tests: it waits until the test adds an ``exit-code`` key to
# the token Secret (the kubelet then adds the file to the mounted volume) and exits with it,
# so a test decides when a Job succeeds or fails.  SIGTERM (namespace deletion) ends it at once.
PARKED_RUNNER: Final = f"""
import os, signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
path = "{contract.TOKEN_MOUNT_DIR}/{EXIT_CODE_KEY}"
while not os.path.exists(path):
    time.sleep(0.2)
sys.exit(int(open(path).read()))
"""


def operator_argv(namespace: str, runner_image: str, *extra: str) -> list[str]:
    """Flags for an operator watching ``namespace`` whose Jobs run the parked runner from a loaded image."""
    flags = OperatorFlags(
        namespace=namespace,
        backend_url=BACKEND_URL,
        runner_image=runner_image,
        runner_command=shlex.join(["python3", "-c", PARKED_RUNNER]),
    )
    return [*flags.argv(), *extra]


class LiveOperator:
    def __init__(
        self,
        identity: OperatorIdentity,
        runner_image: str,
        *argv: str,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.stream = io.StringIO()
        self.api = RecordingApiClient(kube.connect(str(identity.kubeconfig)).configuration)
        settings = parse_settings(operator_argv(identity.namespace, runner_image, *argv), {})
        self.eventlog = EventLog(self.stream)
        api, log = kube.KubeApi(self.api), self.eventlog
        self.reconciler = (
            Reconciler(api, settings, log) if clock is None else Reconciler(api, settings, log, clock)
        )

    def run(self) -> int:
        """One reconcile pass; the number of failures."""
        return self.reconciler.reconcile_all()

    @property
    def log(self) -> str:
        return self.stream.getvalue()

    def events(self, name: str) -> list[str]:
        return [line for line in self.log.splitlines() if f" event={name} " in line]


_READERS: Final = {
    "ServiceAccount": ("CoreV1Api", "read_namespaced_service_account", "delete_namespaced_service_account"),
    "Secret": ("CoreV1Api", "read_namespaced_secret", "delete_namespaced_secret"),
    "Role": ("RbacAuthorizationV1Api", "read_namespaced_role", "delete_namespaced_role"),
    "RoleBinding": (
        "RbacAuthorizationV1Api",
        "read_namespaced_role_binding",
        "delete_namespaced_role_binding",
    ),
    "Job": ("BatchV1Api", "read_namespaced_job", "delete_namespaced_job"),
}


class SessionView:
    """One namespace's sessions and their children, as cluster-admin sees them (plain API JSON)."""

    def __init__(self, admin: client.ApiClient, namespace: str) -> None:
        self.admin = admin
        self.namespace = namespace
        self.core = client.CoreV1Api(admin)
        self.custom = client.CustomObjectsApi(admin)

    def add(self, name: str = "s1", annotations: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
        body = {
            "apiVersion": f"{G}/{contract.VERSION}",
            "kind": contract.KIND,
            "metadata": {"name": name, "annotations": annotations or {}},
            "spec": spec,
        }
        created = self.custom.create_namespaced_custom_object(
            G, contract.VERSION, self.namespace, contract.PLURAL, body
        )
        return dict(created)

    def session(self, name: str = "s1") -> dict[str, Any]:
        args = (G, contract.VERSION, self.namespace, contract.PLURAL, name)
        return dict(self.custom.get_namespaced_custom_object(*args))

    def status(self, name: str = "s1") -> dict[str, Any]:
        return dict(self.session(name).get("status") or {})

    def delete_session(self, name: str = "s1") -> None:
        self.custom.delete_namespaced_custom_object(
            G, contract.VERSION, self.namespace, contract.PLURAL, name
        )

    def read(self, kind: str, name: str) -> dict[str, Any] | None:
        api_class, reader, _ = _READERS[kind]
        try:
            found = getattr(getattr(client, api_class)(self.admin), reader)(name, self.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return dict(self.admin.sanitize_for_serialization(found))

    def must_read(self, kind: str, name: str) -> dict[str, Any]:
        found = self.read(kind, name)
        assert found is not None, f"no {kind} {self.namespace}/{name}"
        return found

    def delete(self, kind: str, name: str) -> None:
        """Delete now; dependents (a Job's pods) go in the background, as ``kubectl delete`` does."""
        api_class, _, deleter = _READERS[kind]
        body = client.V1DeleteOptions(propagation_policy="Background")
        getattr(getattr(client, api_class)(self.admin), deleter)(name, self.namespace, body=body)

    def token(self, secret: str) -> str:
        data = self.must_read("Secret", secret).get("data") or {}
        return base64.b64decode(data[contract.TOKEN_SECRET_KEY]).decode()

    def set_exit_code(self, secret: str, code: int) -> None:
        """Let the parked runner of the session using ``secret`` exit with ``code``."""
        self.core.patch_namespaced_secret(secret, self.namespace, {"stringData": {EXIT_CODE_KEY: str(code)}})

    def rotations(self, session: str = "s1") -> list[str]:
        """Messages of the operator's ``TokenRefreshed`` Events on ``session``: one per minted token."""
        selector = f"involvedObject.name={session},reason=TokenRefreshed"
        events = self.core.list_namespaced_event(self.namespace, field_selector=selector).items
        return [str(e.message) for e in sorted(events, key=lambda e: e.metadata.creation_timestamp)]

    def pods_of_job(self, job: str) -> list[str]:
        pods = self.core.list_namespaced_pod(self.namespace, label_selector=f"job-name={job}").items
        return [str(p.metadata.name) for p in pods]


def may_list_sessions(api: client.ApiClient, namespace: str) -> bool:
    """What the backend asks with the runner's token: may it list AgenticSessions in ``namespace``?"""
    attributes = client.V1ResourceAttributes(
        namespace=namespace, verb="list", group=G, resource=contract.PLURAL
    )
    review = client.AuthorizationV1Api(api).create_self_subject_access_review(
        client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=attributes)
        )
    )
    return bool(review.status.allowed)
