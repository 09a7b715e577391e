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
from functools import cache
from typing import Any

from longhaul.contract import Contract
from longhaul.profiles.loader import load_reference
from longhaul.profiles.schema import TokenDelivery

API_TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"

Spec = Mapping[str, Any]


@cache
def _reference_delivery(contract: Contract) -> tuple[TokenDelivery, str]:
    profile = load_reference()
    return profile.deliveries[contract], profile.names.token_key


def _containers(spec: Spec) -> list[Spec]:
    return [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]


def _mounts(spec: Spec) -> Iterator[tuple[str, Spec]]:
    for container in _containers(spec):
        for mount in container.get("volumeMounts") or []:
            yield str(container.get("name")), mount


def _env(container: Spec) -> dict[str, Spec]:
    return {str(e.get("name")): e for e in container.get("env") or []}


def pod_spec_problems(
    spec: Spec,
    contract: Contract,
    delivery: TokenDelivery | None = None,
    *,
    token_key: str | None = None,
    secret_name: str | None = None,
) -> list[str]:
    """What in ``spec`` (a pod spec, camelCase as the API returns it) breaks ``contract``; [] if nothing.

    ``delivery`` and ``token_key`` say how the implementation under test delivers
    that contract (its profile); without them, the reference profile's.  With
    ``secret_name`` a delivery whose profile names no volume is found by the
    Secret it mounts.
    """
    if delivery is None:
        delivery, key = _reference_delivery(contract)
        token_key = token_key or key
    key = token_key or "k8s-token"
    found: list[str] = []
    automount = spec.get("automountServiceAccountToken")
    if automount is not False:
        found.append(f"automountServiceAccountToken is {automount!r}; the contract says false")
    for container, mount in _mounts(spec):
        if str(mount.get("mountPath", "")).startswith(API_TOKEN_DIR):
            found.append(f"container {container} has the API server's own token mounted at {API_TOKEN_DIR}")
    if contract is Contract.LEGACY_ENV:
        refs = [
            _env(c).get(delivery.legacy_env, {}).get("valueFrom", {}).get("secretKeyRef")
            for c in _containers(spec)
        ]
        if not any(ref and ref.get("key") == key for ref in refs):
            found.append(f"no container takes {delivery.legacy_env} from the Secret key {key}")
        return found
    found += _volume_problems(spec, contract, delivery, key, secret_name)
    return found


def _token_volume(spec: Spec, delivery: TokenDelivery, secret_name: str | None) -> tuple[str, Spec | None]:
    """The token volume's name and its ``secret`` source: by the profile's name, else by the Secret."""
    volumes = {str(v.get("name")): v for v in spec.get("volumes") or []}
    if delivery.volume:
        return delivery.volume, (volumes.get(delivery.volume) or {}).get("secret")
    for name, volume in volumes.items():
        source = volume.get("secret")
        if source is not None and (secret_name is None or source.get("secretName") == secret_name):
            return name, source
    return f"<Secret volume of {secret_name or 'the token Secret'}>", None


def _volume_problems(
    spec: Spec, contract: Contract, delivery: TokenDelivery, key: str, secret_name: str | None
) -> list[str]:
    found: list[str] = []
    volume, secret = _token_volume(spec, delivery, secret_name)
    if secret is None:
        names = sorted(str(v.get("name")) for v in spec.get("volumes") or [])
        found.append(f"no Secret volume named {volume} (volumes: {names})")
    elif delivery.item:
        wanted = {"key": key, "path": delivery.item}
        items = [{"key": i.get("key"), "path": i.get("path")} for i in secret.get("items") or []]
        if wanted not in items:
            found.append(f"volume {volume} does not map {key} to {delivery.item}")
    mounts = [(c, m) for c, m in _mounts(spec) if m.get("name") == volume]
    if not mounts:
        found.append(f"volume {volume} is not mounted")
    for container, mount in mounts:
        where = f"container {container} mounts {volume}"
        if mount.get("mountPath") != delivery.mount_dir:
            found.append(f"{where} at {mount.get('mountPath')}, not {delivery.mount_dir}")
        sub_path = mount.get("subPath") or mount.get("subPathExpr")
        if sub_path:
            found.append(f"{where} with subPath {sub_path}: kubelet never updates it")
        if mount.get("readOnly") is not True:
            found.append(f"{where} writable (readOnly: {mount.get('readOnly')!r})")
    if delivery.path_env:
        mounting = {c for c, _ in mounts}
        path = delivery.token_file(key)
        for spec_of in _containers(spec):
            name = spec_of.get("name")
            value = _env(spec_of).get(delivery.path_env, {}).get("value")
            if name in mounting and value != path:
                found.append(f"container {name}: {delivery.path_env}={value!r}, not {path}")
    return found
