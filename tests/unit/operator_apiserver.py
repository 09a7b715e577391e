"""A tiny in-process Kubernetes-shaped object store over real HTTP, for the operator's I/O tests.

It is NOT a Kubernetes API server: no admission, no RBAC, no validation, no
watch, no garbage collection, no controllers.  It stores JSON objects by path,
answers get/list/create/merge-patch/status/TokenRequest like the real one does
in shape and status code, and records every request as (verb, group, resource).
That is enough to prove the operator's wiring through the official client
(request paths, bodies accepted by the client's models, 404/409 handling,
restart adoption, RBAC coverage) without a cluster; live behaviour is proven
against a real kube-apiserver in the cluster tiers.
"""

from __future__ import annotations

import base64
import copy
import json
import secrets
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

Key = tuple[str, str, str, str]  # (group, resource, namespace, name)


@dataclass(frozen=True)
class Request:
    verb: str  # get | list | create | patch
    group: str
    resource: str  # with "/subresource" when there is one
    namespace: str


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _merge(target: dict[str, Any], patch: dict[str, Any]) -> None:
    """RFC 7386 JSON merge patch (what strategic merge does for the maps the operator patches)."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict):
            if not isinstance(target.get(key), dict):
                target[key] = {}
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


class ObjectStoreApiServer:
    def __init__(
        self, clock: Callable[[], datetime] = _utc_now, max_token_seconds: int | None = None
    ) -> None:
        self.clock = clock
        self.max_token_seconds = max_token_seconds
        self.objects: dict[Key, dict[str, Any]] = {}
        self.requests: list[Request] = []
        self.issued_tokens: list[str] = []
        self.failures: dict[tuple[str, str], tuple[int, str]] = {}  # (verb, resource) -> (status, message)
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._http.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    @contextmanager
    def running(self) -> Iterator[ObjectStoreApiServer]:
        self._thread.start()
        try:
            yield self
        finally:
            self._http.shutdown()
            self._http.server_close()
            self._thread.join(timeout=10)

    def write_kubeconfig(self, path: Path) -> Path:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "store", "cluster": {"server": self.url}}],
            "users": [{"name": "u", "user": {"token": "not-a-session-token"}}],
            "contexts": [{"name": "store", "context": {"cluster": "store", "user": "u"}}],
            "current-context": "store",
        }
        path.write_text(json.dumps(config))
        return path

    # -- direct access for tests ------------------------------------------------------------
    def put(self, group: str, resource: str, obj: dict[str, Any]) -> dict[str, Any]:
        meta = obj.setdefault("metadata", {})
        meta.setdefault("uid", str(uuid.uuid4()))
        with self._lock:
            self.objects[(group, resource, meta["namespace"], meta["name"])] = obj
        return obj

    def get(self, group: str, resource: str, namespace: str, name: str) -> dict[str, Any] | None:
        with self._lock:
            found = self.objects.get((group, resource, namespace, name))
            return copy.deepcopy(found) if found else None

    def delete(self, group: str, resource: str, namespace: str, name: str) -> None:
        with self._lock:
            del self.objects[(group, resource, namespace, name)]

    def patch_status(
        self, group: str, resource: str, namespace: str, name: str, status: dict[str, Any]
    ) -> None:
        with self._lock:
            self.objects[(group, resource, namespace, name)]["status"] = status

    def token_requests(self) -> int:
        return sum(1 for r in self.requests if r.resource == "serviceaccounts/token")

    def secret_token(self, namespace: str, name: str) -> str:
        secret = self.get("", "secrets", namespace, name)
        assert secret is not None, f"no Secret {namespace}/{name}"
        return base64.b64decode(secret["data"]["k8s-token"]).decode()

    # -- HTTP ------------------------------------------------------------------------------
    def _route(self, method: str, path: str, body: dict[str, Any] | None) -> tuple[int, dict[str, Any]]:
        parts = [p for p in urlsplit(path).path.split("/") if p]
        if parts[:2] == ["api", "v1"]:
            group, rest = "", parts[2:]
        elif parts[:1] == ["apis"]:
            group, rest = parts[1], parts[3:]
        else:
            return _status(404, f"unknown path {path}")
        namespace = ""
        if rest[:1] == ["namespaces"]:
            namespace, rest = rest[1], rest[2:]
        resource, name, sub = rest[0], (rest[1] if len(rest) > 1 else ""), (rest[2] if len(rest) > 2 else "")
        verb = {"GET": "get" if name else "list", "POST": "create", "PATCH": "patch"}[method]
        full = f"{resource}/{sub}" if sub else resource
        with self._lock:
            self.requests.append(Request(verb, group, full, namespace))
            if (verb, full) in self.failures:
                return _status(*self.failures[(verb, full)])
            if verb == "list":
                items = [
                    copy.deepcopy(o)
                    for (g, r, ns, _), o in sorted(self.objects.items())
                    if g == group and r == resource and (not namespace or ns == namespace)
                ]
                return 200, {"kind": "List", "apiVersion": "v1", "metadata": {}, "items": items}
            if verb == "create" and not name:
                return self._create(group, resource, namespace, body or {})
            key = (group, resource, namespace, name)
            if key not in self.objects:
                return _status(404, f'{resource} "{name}" not found')
            if sub == "token":
                return self._token(body or {}, self.objects[key])
            if verb == "patch":
                target = self.objects[key]
                # The status subresource takes only .status; the main resource takes everything.
                patch = {"status": (body or {}).get("status") or {}} if sub == "status" else body or {}
                _merge(target, patch)
                target["metadata"]["resourceVersion"] = str(len(self.requests))
            return 200, copy.deepcopy(self.objects[key])

    def _create(
        self, group: str, resource: str, namespace: str, body: dict[str, Any]
    ) -> tuple[int, dict[str, Any]]:
        meta = body.setdefault("metadata", {})
        name = meta.get("name") or meta.get("generateName", "x-") + secrets.token_hex(3)
        key = (group, resource, namespace, name)
        if key in self.objects:
            return _status(409, f'{resource} "{name}" already exists')
        meta.update(
            name=name,
            namespace=namespace,
            uid=str(uuid.uuid4()),
            resourceVersion=str(len(self.requests)),
            creationTimestamp=self.clock().strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        self.objects[key] = body
        return 201, copy.deepcopy(body)

    def _token(self, body: dict[str, Any], sa: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        seconds = int(body.get("spec", {}).get("expirationSeconds", 3600))
        if self.max_token_seconds is not None:
            seconds = min(seconds, self.max_token_seconds)
        claims = {"sub": sa["metadata"]["name"], "uid": sa["metadata"]["uid"], "nonce": secrets.token_hex(8)}
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        token = f"eyJhbGciOiJSUzI1NiJ9.{payload}.{secrets.token_urlsafe(32)}"
        self.issued_tokens.append(token)
        expires = (self.clock() + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
        return 201, {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenRequest",
            "metadata": {"name": sa["metadata"]["name"], "namespace": sa["metadata"]["namespace"]},
            "spec": {"audiences": ["https://kubernetes.default.svc"], "expirationSeconds": seconds},
            "status": {"token": token, "expirationTimestamp": expires},
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                status, payload = server._route(self.command, self.path, body)
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def _status(code: int, message: str) -> tuple[int, dict[str, Any]]:
    reason = {403: "Forbidden", 404: "NotFound", 409: "AlreadyExists"}.get(code, "InternalError")
    return code, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message,
                  "reason": reason, "code": code}  # fmt: skip
