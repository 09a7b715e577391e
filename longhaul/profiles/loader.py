"""Reading a profile file (TOML, stdlib ``tomllib``) into a :class:`~longhaul.profiles.schema.Profile`.

Everything is checked here, before a cluster is touched: required keys, types,
choices, unknown keys and every template's placeholders.  A profile that
cannot be used fails with one message naming the file and the key.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from pathlib import Path

from longhaul.contract import Contract
from longhaul.profiles import templates as tpl
from longhaul.profiles.reader import ProfileError, Table
from longhaul.profiles.schema import (
    BUILTIN,
    BackendSpec,
    CrdSpec,
    ExitPolicy,
    Names,
    NamespacePrep,
    OperatorSpec,
    Profile,
    RunnerSpec,
    Timing,
    TokenDelivery,
    Workload,
)

REFERENCE_FILE = "reference.toml"


def reference_profile_path() -> Path:
    """The reference stubs' profile, shipped inside the package (a real file in a checkout or a wheel)."""
    return Path(str(resources.files("longhaul.profiles").joinpath(REFERENCE_FILE)))


@cache
def load_reference() -> Profile:
    """The reference profile, read once per process (callers must not change it: it is frozen)."""
    return load_profile(reference_profile_path())


def load_profile(path: Path | str) -> Profile:
    path = Path(path).resolve()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read the profile: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from None
    return parse_profile(data, path)


def parse_profile(data: dict[str, object], path: Path) -> Profile:
    top = Table(path, "", data)
    meta = top.table("profile", required=True)
    name, description = meta.text("name"), meta.text("description", "")
    meta.done()
    profile = Profile(
        name=name,
        description=description,
        source=path,
        crd=_crd(top.table("crd", required=True)),
        names=_names(top.table("names", required=True)),
        workload=_workload(top.table("workload", required=True)),
        deliveries=_deliveries(top.table("token", required=True)),
        operator=_operator(top.table("operator", required=True)),
        timing=_timing(top.table("timing", required=True)),
        runner=_runner(top.table("runner", required=True), path.parent),
        backend=_backend(top.table("backend")),
        namespace=_namespace(top.table("namespace")),
        exit=_exit(top.table("exit")),
    )
    top.done()
    _cross_checks(profile, top)
    return profile


def _crd(t: Table) -> CrdSpec:
    spec = CrdSpec(
        group=t.text("group"),
        version=t.text("version"),
        plural=t.text("plural"),
        kind=t.text("kind"),
        manifest=t.text("manifest"),
        env_field=t.text("env_field", "env", choices=("env", "environmentVariables")),  # type: ignore[arg-type]
        optional_fields=frozenset(t.strings("optional_fields")),
    )
    unknown = spec.optional_fields - {"backoffLimit"}
    if unknown:
        raise t.fail("optional_fields", f"longhaul knows only backoffLimit, not {sorted(unknown)}")
    if spec.manifest != BUILTIN and not (t.file.parent / spec.manifest).is_file():
        raise t.fail("manifest", f"{spec.manifest!r}: no such file next to the profile (or {BUILTIN!r})")
    t.done()
    return spec


def _names(t: Table) -> Names:
    names = Names(
        service_account=t.template("service_account", tpl.SESSION),
        token_secret=t.template("token_secret", tpl.SESSION),
        token_key=t.text("token_key"),
        refreshed_at_annotation=t.text("refreshed_at_annotation", ""),
        runner_container=t.text("runner_container"),
    )
    t.done()
    return names


def _workload(t: Table) -> Workload:
    kind = t.text("kind", choices=("Job", "Pod"))
    discovery = t.text("discovery", choices=("label", "owner"))
    selector = t.template("selector", tpl.SESSION, "")
    if discovery == "label" and not selector:
        raise t.fail(
            "selector", 'missing: discovery = "label" needs a selector, e.g. "agentic-session={session}"'
        )
    t.done()
    return Workload(kind=kind, discovery=discovery, selector=selector)  # type: ignore[arg-type]


def _deliveries(t: Table) -> dict[Contract, TokenDelivery]:
    found: dict[Contract, TokenDelivery] = {}
    for contract in Contract:
        if not t.has(contract.value):
            continue
        d = t.table(contract.value)
        if contract is Contract.LEGACY_ENV:
            found[contract] = TokenDelivery(contract, legacy_env=d.text("legacy_env"))
        else:
            found[contract] = TokenDelivery(
                contract,
                mount_dir=d.text("mount_dir"),
                volume=d.text("volume", ""),
                item=d.text("item", ""),
                path_env=d.text("path_env", ""),
            )
        d.done()
    t.done()  # a key other than the three contracts' names is unknown
    if not found:
        raise t.fail("", f"declares no token delivery; one table of {', '.join(c.value for c in Contract)}")
    return found


def _operator(t: Table) -> OperatorSpec:
    command = t.template("command", {"python", "profile_dir"})
    args = t.strings("args")
    for i, arg in enumerate(args):
        t.check_template(f"args[{i}]", arg, tpl.OPERATOR - tpl.OPTIONAL_OPERATOR)
    optional: dict[str, tuple[str, ...]] = {}
    groups = t.table("optional_args")
    for name in list(groups.data):
        if name not in tpl.OPTIONAL_OPERATOR:
            raise groups.fail(
                name, f"is no optional value; one of {', '.join(sorted(tpl.OPTIONAL_OPERATOR))}"
            )
        optional[name] = groups.strings(name)
        for i, arg in enumerate(optional[name]):
            groups.check_template(f"{name}[{i}]", arg, (tpl.OPERATOR - tpl.OPTIONAL_OPERATOR) | {name})
    groups.done()
    env = t.string_map("env")
    for key, value in env.items():
        t.check_template(f"env.{key}", value, tpl.OPERATOR - tpl.OPTIONAL_OPERATOR)
    spec = OperatorSpec(
        command=command,
        args=args,
        optional_args=optional,
        env=env,
        scope=t.text("scope", "namespace", choices=("namespace", "cluster")),  # type: ignore[arg-type]
        rbac=t.text("rbac"),
        restartable=t.flag("restartable", True),
    )
    if spec.rbac != BUILTIN and not (t.file.parent / spec.rbac).is_file():
        raise t.fail("rbac", f"{spec.rbac!r}: no such file next to the profile (or {BUILTIN!r})")
    t.done()
    return spec


def _timing(t: Table) -> Timing:
    timing = Timing(
        mode=t.text("mode", choices=("settable", "fixed")),  # type: ignore[arg-type]
        refresh_threshold_s=t.number("refresh_threshold_s"),
        token_lifetime_s=t.integer("token_lifetime_s") or 0,
    )
    if not 0 < timing.refresh_threshold_s < timing.token_lifetime_s:
        raise t.fail("refresh_threshold_s", "must be above 0 and below token_lifetime_s")
    t.done()
    return timing


def _runner(t: Table, directory: Path) -> RunnerSpec:
    sources = [key for key in ("image", "code", "archive") if t.has(key)]
    if len(sources) != 1:
        raise t.fail(
            "image",
            f'exactly one of image ("{BUILTIN}" or "ref:<reference>"), code (directories) or archive '
            f"(an image tar) is needed; found {sources or 'none'}",
        )
    image = t.text("image", BUILTIN)
    if image != BUILTIN and not image.startswith("ref:"):
        raise t.fail("image", f'is {image!r}; "{BUILTIN}" or "ref:<image reference>"')
    code = tuple((directory / d).resolve() for d in t.strings("code"))
    for i, d in enumerate(code):
        if not d.is_dir():
            raise t.fail(f"code[{i}]", f"{d} is not a directory")
    archive_name = t.text("archive", "")
    archive = (directory / archive_name).resolve() if archive_name else None
    if archive is not None and not archive.exists():
        raise t.fail("archive", f"{archive} does not exist")
    workload = t.string_map("workload_env")
    for key, value in workload.items():
        t.check_template(f"workload_env.{key}", value, tpl.WORKLOAD)
    spec = RunnerSpec(
        image=image,
        code=code,
        archive=archive,
        command=t.text("command"),
        protocol=t.text("protocol", choices=("longhaul-wire", "opaque")),  # type: ignore[arg-type]
        workload_env=workload,
    )
    t.done()
    return spec


def _backend(t: Table) -> BackendSpec:
    reach = t.text("reach", "url", choices=("url", "service"))
    spec = BackendSpec(
        reach=reach,  # type: ignore[arg-type]
        service_name=t.text("service_name", ""),
        service_port=t.integer("service_port", 0) or 0,
        health_paths=t.strings("health_paths"),
    )
    if reach == "service" and not (spec.service_name and spec.service_port):
        raise t.fail("service_name", 'reach = "service" needs service_name and service_port')
    for i, path in enumerate(spec.health_paths):
        if not path.startswith("/"):
            raise t.fail(f"health_paths[{i}]", f"{path!r} is no absolute path")
    t.done()
    return spec


def _namespace(t: Table) -> NamespacePrep:
    labels = t.string_map("labels")
    secrets_table = t.table("secrets")
    secrets: dict[str, dict[str, str]] = {}
    for name in list(secrets_table.data):
        secrets[name] = secrets_table.string_map(name)
        for key, value in secrets[name].items():
            secrets_table.check_template(f"{name}.{key}", value, tpl.NAMESPACE)
    secrets_table.done()
    t.done()
    return NamespacePrep(labels=labels, secrets=secrets)


def _exit(t: Table) -> ExitPolicy:
    policy = ExitPolicy(
        fail_fast=t.integer("fail_fast", optional=True),
        gave_up=t.integer("gave_up", optional=True),
        no_token_source=t.integer("no_token_source", optional=True),
        interrupted=t.integer("interrupted", optional=True),
    )
    for key in ("fail_fast", "gave_up", "no_token_source", "interrupted"):
        code = getattr(policy, key)
        if code is not None and not 0 < code < 256:
            raise t.fail(key, f"{code} is no failure exit code (1-255)")
    t.done()
    return policy


def _cross_checks(profile: Profile, top: Table) -> None:
    """What no single table can see: the operator must be told what the profile says it can vary."""
    op = profile.operator
    everything = [op.command, *op.args, *op.env.values(), *(a for g in op.optional_args.values() for a in g)]
    where = Table(top.file, "operator", {})
    if len(profile.deliveries) > 1 and not tpl.uses(everything, "mode"):
        raise where.fail(
            "args",
            f"the profile declares {len(profile.deliveries)} token deliveries but never passes {{mode}}",
        )
    if profile.timing.mode == "settable" and not tpl.uses(everything, "refresh_threshold_s"):
        raise where.fail(
            "args",
            'timing mode "settable" needs {refresh_threshold_s} in the operator\'s args or env '
            '(or timing mode = "fixed")',
        )
    if profile.timing.mode == "fixed" and tpl.uses(everything, "refresh_threshold_s"):
        raise where.fail("args", 'timing mode "fixed" cannot pass {refresh_threshold_s}; make it "settable"')
