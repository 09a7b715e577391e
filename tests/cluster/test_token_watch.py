"""The token Secret watch records every value the Secret held, however briefly.

Polling (the watch's former design) sampled the Secret every 0.25 s, so a
token replaced within that time was never recorded and the leak scan never
looked for it.  These change the Secret faster than any poll could see.
"""

from __future__ import annotations

import base64
import uuid

import pytest
from kubernetes import client

from longhaul.contract import TOKEN_SECRET_KEY
from longhaul.fixtures.cluster import Cluster
from longhaul.fixtures.engine.token_watch import TokenSecretWatch
from longhaul.fixtures.kube.clients import admin_client
from longhaul.fixtures.util import known_tokens
from longhaul.fixtures.util.waiting import wait_for
from longhaul.tokens import fingerprint

pytestmark = pytest.mark.cluster
NAME = "ambient-runner-token-watched"


def _secret(value: str) -> client.V1Secret:
    data = {TOKEN_SECRET_KEY: base64.b64encode(value.encode()).decode()}
    return client.V1Secret(metadata=client.V1ObjectMeta(name=NAME), data=data)


def test_every_short_lived_value_is_recorded_in_order(cluster: Cluster, namespace: str) -> None:
    core = client.CoreV1Api(admin_client(cluster.kubeconfig))
    values = [f"token-{i}-{uuid.uuid4().hex}" for i in range(12)]
    watch = TokenSecretWatch(core, namespace, NAME).start()
    try:
        core.create_namespaced_secret(namespace, _secret(values[0]))
        for value in values[1:8]:  # back to back: each lives for one API round trip
            core.replace_namespaced_secret(NAME, namespace, _secret(value))
        core.delete_namespaced_secret(NAME, namespace)
        core.create_namespaced_secret(namespace, _secret(values[8]))  # deleted and recreated
        for value in values[9:]:
            core.replace_namespaced_secret(NAME, namespace, _secret(value))
        rotations = wait_for(
            f"{len(values)} values recorded",
            lambda: list(watch.rotations),
            lambda seen: len(seen) >= len(values),
            timeout=30,
            describe=lambda seen: [r.fp for r in seen],
        )
    finally:
        watch.stop()
    assert [r.fp for r in rotations] == [fingerprint(v) for v in values]
    assert watch.tokens == set(values)
    assert set(values) <= set(known_tokens.known()), "reports are redacted of every value watched"
    assert [r.t for r in rotations] == sorted(r.t for r in rotations)


def test_the_watch_starts_before_its_namespace_exists(cluster: Cluster) -> None:
    """The engine starts the watch before the platform creates the namespace (it outlives the operator)."""
    core = client.CoreV1Api(admin_client(cluster.kubeconfig))
    namespace = f"t-{uuid.uuid4().hex[:8]}"
    watch = TokenSecretWatch(core, namespace, NAME).start()
    try:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))
        value = f"late-{uuid.uuid4().hex}"
        core.create_namespaced_secret(namespace, _secret(value))
        wait_for("the value recorded", lambda: watch.tokens, lambda t: value in t, timeout=30)
    finally:
        watch.stop()
        core.delete_namespace(namespace)
