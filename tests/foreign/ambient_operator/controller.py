"""The operator process: watches, a work queue, reconcile workers, health and metrics servers."""

from __future__ import annotations

import heapq
import logging
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from ambient_operator import resources as r
from ambient_operator.reconciler import Metrics, Reconciler
from ambient_operator.settings import Settings, SettingsError, bind_address, parse_args

log = logging.getLogger("ambient_operator")

Key = tuple[str, str]
WATCH_TIMEOUT_SECONDS = 300
LEASE_NAME = "ambient-code-operator-leader"
LEASE_SECONDS = 15
RENEW_SECONDS = 5
SA_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"


class WorkQueue:
    """Keys to reconcile: deduplicated, never handed to two workers at once, with delayed adds."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._queue: deque[Key] = deque()
        self._queued: set[Key] = set()
        self._processing: set[Key] = set()
        self._dirty: set[Key] = set()
        self._timers: list[tuple[float, Key]] = []
        self._due: dict[Key, float] = {}

    def add(self, key: Key) -> None:
        with self._cv:
            self._add_locked(key)

    def _add_locked(self, key: Key) -> None:
        if key in self._processing:
            self._dirty.add(key)
        elif key not in self._queued:
            self._queued.add(key)
            self._queue.append(key)
            self._cv.notify()

    def add_after(self, key: Key, delay: float) -> None:
        due = time.monotonic() + max(0.0, delay)
        with self._cv:
            if key in self._due and self._due[key] <= due:
                return
            self._due[key] = due
            heapq.heappush(self._timers, (due, key))
            self._cv.notify_all()

    def get(self) -> Key:
        with self._cv:
            while True:
                current = time.monotonic()
                while self._timers and self._timers[0][0] <= current:
                    due, key = heapq.heappop(self._timers)
                    if self._due.get(key) == due:
                        del self._due[key]
                        self._add_locked(key)
                if self._queue:
                    key = self._queue.popleft()
                    self._queued.discard(key)
                    self._processing.add(key)
                    return key
                timeout = self._timers[0][0] - current if self._timers else None
                self._cv.wait(timeout)

    def done(self, key: Key) -> None:
        with self._cv:
            self._processing.discard(key)
            if key in self._dirty:
                self._dirty.discard(key)
                self._add_locked(key)


class Servers:
    """/healthz and /readyz on the health address, /metrics on the metrics address."""

    def __init__(self, metrics: Metrics, ready: Callable[[], bool]) -> None:
        self.metrics, self.ready = metrics, ready
        self.servers: list[ThreadingHTTPServer] = []

    def serve(
        self, what: str, address: tuple[str, int], routes: dict[str, Callable[[], tuple[int, str]]]
    ) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                route = routes.get(self.path.split("?", 1)[0])
                status, body = route() if route else (404, "not found\n")
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(address, Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, name=what, daemon=True).start()
        self.servers.append(server)
        host, port = server.server_address[:2]
        log.info("serving %s on %s:%d", what, host, port)

    def start(self, health: str, metrics: str) -> None:
        ok: Callable[[], tuple[int, str]] = lambda: (200, "ok\n")  # noqa: E731
        ready: Callable[[], tuple[int, str]] = lambda: (200, "ok\n") if self.ready() else (503, "not ready\n")  # noqa: E731
        health_address, metrics_address = bind_address(health), bind_address(metrics)
        if health_address:
            self.serve("health probes", health_address, {"/healthz": ok, "/readyz": ready})
        if metrics_address:
            self.serve("metrics", metrics_address, {"/metrics": lambda: (200, self.metrics.render())})


def load_client(kubeconfig: str | None) -> client.ApiClient:
    """--kubeconfig, else $KUBECONFIG, else in-cluster, else ~/.kube/config (as controller-runtime)."""
    configuration = client.Configuration()
    if kubeconfig:
        config.load_kube_config(config_file=kubeconfig, client_configuration=configuration)
    elif os.environ.get("KUBECONFIG"):
        config.load_kube_config(client_configuration=configuration)
    elif os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config(client_configuration=configuration)
    else:
        config.load_kube_config(client_configuration=configuration)
    return client.ApiClient(configuration)


class LeaderElector:
    """Holds the Lease ``ambient-code-operator-leader``; losing it ends the process (exit 1)."""

    def __init__(self, api_client: client.ApiClient) -> None:
        self.api = client.CoordinationV1Api(api_client)
        self.identity = f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}"
        try:
            with open(SA_NAMESPACE_FILE) as f:
                self.namespace = f.read().strip()
        except OSError:
            self.namespace = "default"

    def _lease_body(self, resource_version: str | None = None) -> dict[str, Any]:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        meta: dict[str, Any] = {"name": LEASE_NAME, "namespace": self.namespace}
        if resource_version:
            meta["resourceVersion"] = resource_version
        return {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": meta,
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": LEASE_SECONDS,
                "acquireTime": stamp,
                "renewTime": stamp,
            },
        }

    def try_acquire(self) -> bool:
        try:
            lease = self.api.read_namespaced_lease(LEASE_NAME, self.namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise
            try:
                self.api.create_namespaced_lease(self.namespace, self._lease_body())
                return True
            except ApiException as exc2:
                if exc2.status == 409:
                    return False
                raise
        spec = lease.spec
        renewed = spec.renew_time
        expired = renewed is None or renewed + timedelta(
            seconds=spec.lease_duration_seconds or LEASE_SECONDS
        ) < (datetime.now(UTC))
        if spec.holder_identity not in (None, "", self.identity) and not expired:
            return False
        try:
            self.api.replace_namespaced_lease(
                LEASE_NAME, self.namespace, self._lease_body(lease.metadata.resource_version)
            )
            return True
        except ApiException as exc:
            if exc.status == 409:
                return False
            raise

    def acquire(self) -> None:
        log.info("waiting for leadership of Lease %s/%s as %s", self.namespace, LEASE_NAME, self.identity)
        while not self.try_acquire():
            time.sleep(2)
        log.info("became leader (Lease %s/%s)", self.namespace, LEASE_NAME)
        threading.Thread(target=self._renew, name="leader-renew", daemon=True).start()

    def _renew(self) -> None:
        last = time.monotonic()
        while True:
            time.sleep(RENEW_SECONDS)
            try:
                if self.try_acquire():
                    last = time.monotonic()
                    continue
            except Exception as exc:  # keep trying until the lease would have expired
                log.warning("renewing the Lease failed: %s: %s", type(exc).__name__, exc)
            if time.monotonic() - last > LEASE_SECONDS - RENEW_SECONDS:
                log.error("lost leadership of Lease %s/%s; exiting", self.namespace, LEASE_NAME)
                os._exit(1)


class Controller:
    def __init__(self, api_client: client.ApiClient, reconciler: Reconciler, workers: int) -> None:
        self.api_client = api_client
        self.reconciler = reconciler
        self.workers = workers
        self.queue = WorkQueue()
        self.synced = threading.Event()
        self.failures: dict[Key, int] = {}

    def start(self) -> None:
        core = client.CoreV1Api(self.api_client)
        custom = client.CustomObjectsApi(self.api_client)
        watches: list[tuple[str, Callable[..., Any], dict[str, Any], Callable[[Any], Key | None]]] = [
            (
                "AgenticSessions",
                custom.list_cluster_custom_object,
                {"group": r.GROUP, "version": r.VERSION, "plural": r.PLURAL},
                lambda o: (o["metadata"]["namespace"], o["metadata"]["name"]),
            ),
            ("Pods", core.list_pod_for_all_namespaces, {"label_selector": r.SESSION_LABEL}, _session_of),
            (
                "Secrets",
                core.list_secret_for_all_namespaces,
                {"label_selector": r.SESSION_LABEL},
                _session_of,
            ),
        ]
        synced = [threading.Event() for _ in watches]
        for (what, lister, kwargs, key_of), done in zip(watches, synced, strict=True):
            threading.Thread(
                target=self._watch,
                args=(what, lister, kwargs, key_of, done),
                name=f"watch-{what}",
                daemon=True,
            ).start()
        for i in range(self.workers):
            threading.Thread(target=self._work, name=f"worker-{i}", daemon=True).start()
        for done in synced:
            done.wait()
        self.synced.set()
        log.info("watches synced; %d worker(s) reconciling", self.workers)

    def _watch(
        self,
        what: str,
        lister: Callable[..., Any],
        kwargs: dict[str, Any],
        key_of: Callable[[Any], Key | None],
        synced: threading.Event,
    ) -> None:
        while True:
            try:
                listed = lister(**kwargs)
                items = listed["items"] if isinstance(listed, dict) else listed.items
                version = (
                    listed["metadata"]["resourceVersion"]
                    if isinstance(listed, dict)
                    else listed.metadata.resource_version
                )
                for item in items:
                    key = key_of(item)
                    if key:
                        self.queue.add(key)
                synced.set()
                stream = watch.Watch().stream(
                    lister, resource_version=version, timeout_seconds=WATCH_TIMEOUT_SECONDS, **kwargs
                )
                for event in stream:
                    if event["type"] == "ERROR":
                        break  # e.g. 410 Gone: list again
                    key = key_of(event["object"])
                    if key:
                        self.queue.add(key)
            except Exception as exc:
                log.warning("watch of %s failed: %s: %s; listing again", what, type(exc).__name__, exc)
                time.sleep(1)

    def _work(self) -> None:
        while True:
            key = self.queue.get()
            try:
                after = self.reconciler.reconcile(*key)
                self.failures.pop(key, None)
            except Exception as exc:
                n = self.failures.get(key, 0) + 1
                self.failures[key] = n
                after = min(30.0, 0.5 * 2 ** min(n, 6))
                detail = f"{exc.status} {exc.reason}" if isinstance(exc, ApiException) else str(exc)
                log.error(
                    "reconcile %s/%s failed (%s: %s); retrying in %.1fs",
                    *key,
                    type(exc).__name__,
                    detail,
                    after,
                )
            finally:
                self.queue.done(key)
            if after is not None:
                self.queue.add_after(key, after)


def _session_of(obj: Any) -> Key | None:
    meta = obj["metadata"] if isinstance(obj, dict) else obj.metadata
    labels = (meta.get("labels") if isinstance(meta, dict) else meta.labels) or {}
    namespace = meta.get("namespace") if isinstance(meta, dict) else meta.namespace
    session = labels.get(r.SESSION_LABEL)
    return (namespace, session) if session and namespace else None


def setup_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter("%(asctime)s.%(msecs)03dZ %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for noisy in ("kubernetes", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None, reconciler_cls: type[Reconciler] = Reconciler) -> int:
    args = parse_args(argv)  # unknown flags: argparse exits 2
    setup_logging()
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as exc:
        log.error("configuration error: %s", exc)
        return 2
    try:
        api_client = load_client(args.kubeconfig)
    except Exception as exc:
        log.error("cannot load a Kubernetes client configuration: %s: %s", type(exc).__name__, exc)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    metrics = Metrics()
    reconciler = reconciler_cls(api_client, settings, metrics)
    controller = Controller(api_client, reconciler, args.max_concurrent_reconciles)
    try:
        Servers(metrics, controller.synced.is_set).start(
            args.health_probe_bind_address, args.metrics_bind_address
        )
    except (OSError, ValueError) as exc:
        log.error("cannot serve: %s: %s", type(exc).__name__, exc)
        return 1
    log.info(
        "ambient operator starting: image=%s pullPolicy=%s backendNamespace=%s tokenLifetime=%ds "
        "refreshThreshold=%gs requeue=%gs variant=%s",
        settings.runner_image,
        settings.image_pull_policy,
        settings.backend_namespace or "<session namespace>",
        settings.token_lifetime_seconds,
        settings.refresh_threshold_seconds,
        settings.requeue_seconds,
        reconciler_cls.__name__,
    )
    if args.leader_elect:
        LeaderElector(api_client).acquire()
    controller.start()
    try:
        while True:
            time.sleep(3600)
    except (KeyboardInterrupt, SystemExit):
        log.info("stopping")
    return 0
