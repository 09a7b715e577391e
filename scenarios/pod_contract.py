"""The token contract as it shows in a runner pod's spec: a pure check of what the API server stored.

Why look at the spec and not only at behaviour: some deviations never fail
at run time on a given cluster.  kubelet keeps Secret volumes read-only
whatever ``readOnly`` says, and an auto-mounted API token only matters once
something uses it; a real platform (another runtime, another runner) may not
be so forgiving.  The spec is read after admission, so what the ServiceAccount
admission plugin added (a projected API token) is seen too.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from longhaul.contract import (
    ENV_BOT_TOKEN,
    ENV_BOT_TOKEN_PATH,
    TOKEN_FILE_PATH,
    TOKEN_MOUNT_DIR,
    TOKEN_SECRET_KEY,
    TOKEN_VOLUME_NAME,
    UPSTREAM_ITEM_PATH,
    UPSTREAM_MOUNT_DIR,
    Contract,
)

API_TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
MOUNT_DIR = {Contract.BOT_TOKEN_PATH: TOKEN_MOUNT_DIR, Contract.UPSTREAM: UPSTREAM_MOUNT_DIR}

Spec = Mapping[str, Any]


def _containers(spec: Spec) -> list[Spec]:
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


def _mounts(spec: Spec) -> Iterator[tuple[str, Spec]]:
    for container in _containers(spec):
        for mount in container.get("volumeMounts") or []:
            yield str(container.get("name")), mount


def _env(container: Spec) -> dict[str, Spec]:
    return {str(e.get("name")): e for e in container.get("env") or []}


def pod_spec_problems(spec: Spec, contract: Contract) -> list[str]:
    """What in ``spec`` (a pod spec, camelCase as the API returns it) breaks ``contract``; [] if nothing."""
    found: list[str] = []
    automount = spec.get("automountServiceAccountToken")
    if automount is not False:
        found.append(f"automountServiceAccountToken is {automount!r}; the contract says false")
    for container, mount in _mounts(spec):
        if str(mount.get("mountPath", "")).startswith(API_TOKEN_DIR):
            found.append(f"container {container} has the API server's own token mounted at {API_TOKEN_DIR}")
    if contract is Contract.LEGACY_ENV:
        refs = [
            _env(c).get(ENV_BOT_TOKEN, {}).get("valueFrom", {}).get("secretKeyRef") for c in _containers(spec)
        ]
        if not any(ref and ref.get("key") == TOKEN_SECRET_KEY for ref in refs):
            found.append(f"no container takes {ENV_BOT_TOKEN} from the Secret key {TOKEN_SECRET_KEY}")
        return found
    found += _volume_problems(spec, contract)
    return found


def _volume_problems(spec: Spec, contract: Contract) -> list[str]:
    found: list[str] = []
    volumes = {v.get("name"): v for v in spec.get("volumes") or []}
    secret = (volumes.get(TOKEN_VOLUME_NAME) or {}).get("secret")
    if secret is None:
        found.append(f"no Secret volume named {TOKEN_VOLUME_NAME} (volumes: {sorted(map(str, volumes))})")
    elif contract is Contract.UPSTREAM:
        wanted = {"key": TOKEN_SECRET_KEY, "path": UPSTREAM_ITEM_PATH}
        items = [{"key": i.get("key"), "path": i.get("path")} for i in secret.get("items") or []]
        if wanted not in items:
            found.append(
                f"volume {TOKEN_VOLUME_NAME} does not map {TOKEN_SECRET_KEY} to {UPSTREAM_ITEM_PATH}"
            )
    mounts = [(c, m) for c, m in _mounts(spec) if m.get("name") == TOKEN_VOLUME_NAME]
    if not mounts:
        found.append(f"volume {TOKEN_VOLUME_NAME} is not mounted")
    for container, mount in mounts:
        where = f"container {container} mounts {TOKEN_VOLUME_NAME}"
        if mount.get("mountPath") != MOUNT_DIR[contract]:
            found.append(f"{where} at {mount.get('mountPath')}, not {MOUNT_DIR[contract]}")
        sub_path = mount.get("subPath") or mount.get("subPathExpr")
        if sub_path:
            found.append(f"{where} with subPath {sub_path}: kubelet never updates it")
        if mount.get("readOnly") is not True:
            found.append(f"{where} writable (readOnly: {mount.get('readOnly')!r})")
    if contract is Contract.BOT_TOKEN_PATH:
        mounting = {c for c, _ in mounts}
        for spec_of in _containers(spec):
            name = spec_of.get("name")
            value = _env(spec_of).get(ENV_BOT_TOKEN_PATH, {}).get("value")
            if name in mounting and value != TOKEN_FILE_PATH:
                found.append(f"container {name}: {ENV_BOT_TOKEN_PATH}={value!r}, not {TOKEN_FILE_PATH}")
    return found
