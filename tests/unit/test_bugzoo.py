"""The bug zoo's variants, checked offline: each loads, names real scenarios, and really changes its stub.

The e2e run (``python -m bugzoo``) is what proves the suite kills them; these
tests catch, in a second, a variant that no longer applies or no longer
changes anything -- which would otherwise show up as a survivor after a long run.
"""

from __future__ import annotations

import asyncio
import importlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from bugzoo.catalog import all_variants, variant_names
from longhaul.contract import Contract, RunnerExit
from longhaul.fixtures.rigs.projected_secret import ProjectedSecretDir
from longhaul.scenarios.catalog import FAST_TIER
from longhaul.scenarios.pod_contract import pod_spec_problems
from operator_stub import render
from operator_stub.kube import ApiError, KubeApi
from operator_stub.plan import Action, Observed, plan
from operator_stub.reconcile import Reconciler
from operator_stub.refresh import RefreshPolicy, RefreshReason
from operator_stub.session import Session
from operator_stub.token_secret import MintedToken, TokenRecord, format_rfc3339
from runner_stub import __main__ as runner_entry
from runner_stub import session as runner_session
from runner_stub.session import ConnectionEnded
from runner_stub.token_source import RunnerConfigError

SESSION = Session(namespace="ns", name="s-1", uid="uid-1", secret_name="ambient-runner-token-s-1")
pytestmark = pytest.mark.filterwarnings("ignore:websockets.legacy is deprecated:DeprecationWarning")


def apply(monkeypatch: pytest.MonkeyPatch, name: str) -> ModuleType:
    module = importlib.import_module(f"bugzoo.{name}")
    for override in module.OVERRIDES:
        monkeypatch.setattr(override.owner, override.name, override.replacement())
    return module


def test_every_variant_is_complete_and_names_existing_scenarios() -> None:
    variants = all_variants()
    assert len(variants) >= 25
    scenarios = {s.name for s in FAST_TIER}
    for v in variants:
        assert v.bug and set(v.killed_by) <= scenarios, v
        for override in v.overrides:
            assert override.replacement() is not getattr(override.owner, override.name), v.name


def test_variant_names_follow_the_component_prefix() -> None:
    assert all(n.startswith(("runner_", "operator_", "backend_")) for n in variant_names())


# --- runner variants ---------------------------------------------------------------------------------


@pytest.fixture
def mounted(tmp_path: Path) -> ProjectedSecretDir:
    volume = ProjectedSecretDir(tmp_path / "runner-token")
    volume.write({"k8s-token": "first-token"})
    return volume


@pytest.mark.parametrize(
    "name", ["runner_token_read_once", "runner_holds_token_file_open", "runner_inotify_on_token_file"]
)
def test_stale_token_variants_miss_a_kubelet_style_rotation(
    monkeypatch: pytest.MonkeyPatch, mounted: ProjectedSecretDir, name: str
) -> None:
    env = {"BOT_TOKEN_PATH": str(mounted.path("k8s-token"))}
    reference = runner_entry.resolve_token_source(Contract.BOT_TOKEN_PATH, env)
    apply(monkeypatch, name)
    broken = runner_entry.resolve_token_source(Contract.BOT_TOKEN_PATH, env)
    mounted.write({"k8s-token": "second-token"})
    assert (reference.read(), broken.read()) == ("second-token", "first-token")


def test_lenient_variant_falls_back_instead_of_failing_fast(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = {"BOT_TOKEN_PATH": str(tmp_path / "absent")}
    with pytest.raises(RunnerConfigError) as failed:
        runner_entry.resolve_token_source(Contract.BOT_TOKEN_PATH, env)
    assert failed.value.exit_code is RunnerExit.TOKEN_FILE_UNUSABLE
    apply(monkeypatch, "runner_falls_back_to_env")
    source = runner_entry.resolve_token_source(Contract.BOT_TOKEN_PATH, env)
    assert (source.kind, source.read()) == ("env", "")


def test_inotify_variant_sees_an_in_place_write_but_not_kubelets_swap(
    monkeypatch: pytest.MonkeyPatch, mounted: ProjectedSecretDir
) -> None:
    apply(monkeypatch, "runner_inotify_on_token_file")
    watched = runner_entry.resolve_token_source(
        Contract.BOT_TOKEN_PATH, {"BOT_TOKEN_PATH": str(mounted.path("k8s-token"))}
    )
    mounted.path("k8s-token").resolve().write_text("rewritten-in-place")  # what a naive test does
    assert watched.read() == "rewritten-in-place"
    mounted.write({"k8s-token": "swapped-by-kubelet"})
    assert watched.read() == "rewritten-in-place"


def test_backup_env_variant_falls_back_only_to_a_non_empty_bot_token(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = {"BOT_TOKEN_PATH": str(tmp_path / "absent"), "BOT_TOKEN": "legacy-token"}
    with pytest.raises(RunnerConfigError):
        runner_entry.resolve_token_source(Contract.BOT_TOKEN_PATH, env)
    apply(monkeypatch, "runner_falls_back_to_nonempty_env")
    source = runner_entry.resolve_token_source(Contract.BOT_TOKEN_PATH, env)
    assert (source.kind, source.read()) == ("env", "legacy-token")
    with pytest.raises(RunnerConfigError) as failed:  # nothing to fall back to: still fails fast
        runner_entry.resolve_token_source(Contract.BOT_TOKEN_PATH, {**env, "BOT_TOKEN": ""})
    assert failed.value.exit_code is RunnerExit.TOKEN_FILE_UNUSABLE


def test_vanishing_file_variant_reads_an_empty_token_where_the_reference_fails(
    monkeypatch: pytest.MonkeyPatch, mounted: ProjectedSecretDir
) -> None:
    env = {"BOT_TOKEN_PATH": str(mounted.path("k8s-token"))}
    reference = runner_entry.resolve_token_source(Contract.BOT_TOKEN_PATH, env)
    apply(monkeypatch, "runner_empty_token_when_file_vanishes")
    lenient = runner_entry.resolve_token_source(Contract.BOT_TOKEN_PATH, env)
    mounted.write({"other-key": "x"})  # the key removed from the Secret: kubelet removes the file
    with pytest.raises(RunnerConfigError) as failed:
        reference.read()
    assert failed.value.exit_code is RunnerExit.TOKEN_FILE_UNUSABLE and "does not exist" in str(failed.value)
    assert lenient.read() == ""


def test_unstripped_variant_keeps_the_trailing_newline(
    monkeypatch: pytest.MonkeyPatch, mounted: ProjectedSecretDir
) -> None:
    mounted.write({"k8s-token": "the-token\n"})
    env = {"BOT_TOKEN_PATH": str(mounted.path("k8s-token"))}
    assert runner_entry.resolve_token_source(Contract.BOT_TOKEN_PATH, env).read() == "the-token"
    apply(monkeypatch, "runner_keeps_trailing_newline")
    assert runner_entry.resolve_token_source(Contract.BOT_TOKEN_PATH, env).read() == "the-token\n"


def test_folded_variant_reports_rejections_as_generic_connect_failures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    raised = runner_session.InvalidStatus
    apply(monkeypatch, "runner_hides_rejection_status")
    assert not issubclass(raised, runner_session.InvalidStatus)
    assert issubclass(raised, runner_session.InvalidHandshake)  # still caught: retried, logged without status


def test_stale_except_variant_lets_a_config_error_escape(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BOT_TOKEN_PATH", str(tmp_path / "absent"))
    argv = ["--url", "ws://198.18.0.1:1/ws"]
    assert runner_entry.main(argv) == RunnerExit.TOKEN_FILE_UNUSABLE
    apply(monkeypatch, "runner_exits_1_on_config_error")
    with pytest.raises(RunnerConfigError):  # a traceback and exit 1 in a container
        runner_entry.main(argv)


def test_expiry_is_final_variant_gives_up_on_the_expired_token_close() -> None:
    module = importlib.import_module("bugzoo.runner_gives_up_on_expired_close")

    def closing(reason: str) -> Any:
        async def converse(_self: object, _ws: object) -> ConnectionEnded:
            return ConnectionEnded(False, reason)

        return converse

    dropped = module.final_on_expiry(closing("closed 1012 dropped by test"))
    assert asyncio.run(dropped(None, None)).reason == "closed 1012 dropped by test"
    expired = module.final_on_expiry(closing("closed 4001 token expired"))
    with pytest.raises(RunnerConfigError) as failed:
        asyncio.run(expired(None, None))
    assert failed.value.exit_code is RunnerExit.GAVE_UP


def test_pre_14_variant_no_longer_catches_what_websockets_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    raised = runner_session.InvalidStatus
    apply(monkeypatch, "runner_catches_invalid_status_code")
    assert not issubclass(raised, (runner_session.InvalidStatus, runner_session.InvalidHandshake))


def test_logging_variant_identifies_a_token_by_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    apply(monkeypatch, "runner_logs_token")
    assert runner_session.fingerprint("the-token") == "the-token"


def test_replaying_variant_resends_acknowledged_events(monkeypatch: pytest.MonkeyPatch) -> None:
    apply(monkeypatch, "runner_replays_history")
    outbox = runner_session.Outbox()
    for body in ("a", "b"):
        outbox.ack(outbox.add(body).seq)
    assert (len(outbox), [e.seq for e in outbox.pending()]) == (0, [1, 2])


def test_stubborn_variant_never_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    argv = ["--url", "ws://x", "--give-up-after", "5"]
    assert runner_entry.parse_config(argv, {}).give_up_after == 5
    apply(monkeypatch, "runner_never_gives_up")
    assert runner_entry.parse_config(argv, {}).give_up_after == float("inf")


# --- operator variants -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "mode", "expected"),
    [
        ("operator_subpath_mount", Contract.BOT_TOKEN_PATH, "subPath"),
        ("operator_subpath_mount", Contract.UPSTREAM, "subPath"),
        ("operator_env_token_only", Contract.BOT_TOKEN_PATH, "no Secret volume"),
        ("operator_writable_mount", Contract.BOT_TOKEN_PATH, "writable"),
        ("operator_automount_token", Contract.BOT_TOKEN_PATH, "automount"),
        ("operator_upstream_without_item_mapping", Contract.UPSTREAM, "does not map"),
    ],
)
def test_rendering_variants_break_the_pod_contract(
    monkeypatch: pytest.MonkeyPatch, name: str, mode: Contract, expected: str
) -> None:
    template = render.RunnerTemplate(mode=mode, websocket_base="ws://198.18.0.1:1")
    assert pod_spec_problems(render.job(SESSION, template)["spec"]["template"]["spec"], mode) == []
    apply(monkeypatch, name)
    problems = pod_spec_problems(render.job(SESSION, template)["spec"]["template"]["spec"], mode)
    assert any(expected in p for p in problems), problems


NOW = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = RefreshPolicy(interval=timedelta(seconds=3), check_period=timedelta(seconds=1))


def record(minted_ago: float, lifetime: float = 600) -> TokenRecord:
    minted = NOW - timedelta(seconds=minted_ago)
    return TokenRecord(
        exists=True,
        has_token=True,
        refreshed_at=format_rfc3339(minted),
        expires_at=format_rfc3339(minted + timedelta(seconds=lifetime)),
        service_account_uid="sa-uid",
    )


def test_late_refresh_variant_waits_for_expiry(monkeypatch: pytest.MonkeyPatch) -> None:
    assert POLICY.decide(record(5), NOW, "sa-uid").refresh
    apply(monkeypatch, "operator_refresh_after_expiry")
    assert not POLICY.decide(record(5), NOW, "sa-uid").refresh
    assert POLICY.decide(record(601), NOW, "sa-uid").refresh


def test_ignoring_the_service_account_uid_waits_for_the_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    replaced = POLICY.decide(record(1), NOW, "new-sa-uid")
    assert (replaced.refresh, replaced.reason) == (True, RefreshReason.SERVICE_ACCOUNT_REPLACED)
    apply(monkeypatch, "operator_ignores_service_account_replacement")
    assert not POLICY.decide(record(1), NOW, "new-sa-uid").refresh
    assert POLICY.decide(record(5), NOW, "new-sa-uid").refresh  # the schedule still applies


def test_default_audience_variant_drops_the_configured_audience(monkeypatch: pytest.MonkeyPatch) -> None:
    bodies: list[dict[str, Any]] = []

    def fake_call(_action: str, _method: object, *args: Any, **_kw: Any) -> dict[str, Any]:
        bodies.append(args[-1])
        return {"status": {"token": "minted", "expirationTimestamp": None}}

    api = KubeApi.__new__(KubeApi)
    api._core = SimpleNamespace(create_namespaced_service_account_token=None)
    monkeypatch.setattr(api, "_call", fake_call)
    api.request_token("ns", "sa", 600, ("longhaul-backend",))
    apply(monkeypatch, "operator_ignores_token_audience")
    api.request_token("ns", "sa", 600, ("longhaul-backend",))
    assert [b["spec"]["audiences"] for b in bodies] == [["longhaul-backend"], []]


class SecretApi:
    """What ``_write_secret`` calls on the API, recorded; a patch of an immutable Secret gets 422."""

    def __init__(self, immutable: bool) -> None:
        self.immutable, self.calls = immutable, list[tuple[str, Any]]()

    def patch_secret(self, _ns: str, _name: str, patch: Any) -> dict[str, Any]:
        self.calls.append(("patch", patch))
        if self.immutable:
            raise ApiError("patch Secret", 422, "Invalid", "field is immutable when `immutable` is set")
        return {}

    def delete(self, kind: str, _ns: str, _name: str) -> None:
        self.calls.append(("delete", kind))
        self.immutable = False

    def create(self, body: Any, *, adopt_existing: bool = True) -> dict[str, Any]:
        self.calls.append(("create", body))
        return body


def write_secret(immutable: bool) -> SecretApi:
    api = SecretApi(immutable)
    reconciler = SimpleNamespace(_api=api, _log=SimpleNamespace(emit=lambda *a, **k: None))
    token = MintedToken("minted", NOW, NOW + timedelta(seconds=600), "sa-uid")
    found = TokenRecord(exists=True, has_token=True, immutable=immutable)
    Reconciler._write_secret(reconciler, SESSION, token, found)  # type: ignore[arg-type]
    return api


def test_the_reference_replaces_an_immutable_secret_and_the_variants_do_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert POLICY.decide(TokenRecord(exists=True, has_token=True, immutable=True), NOW, "sa").reason is (
        RefreshReason.SECRET_IMMUTABLE
    )
    assert [c for c, _ in write_secret(immutable=True).calls] == ["delete", "create"]
    assert "immutable" not in write_secret(immutable=True).calls[-1][1]  # the replacement is mutable
    with monkeypatch.context() as patched:
        apply(patched, "operator_patches_immutable_secret")  # patches, and the 422 propagates
        with pytest.raises(ApiError):
            write_secret(immutable=True)
    with monkeypatch.context() as patched:
        apply(patched, "operator_writes_immutable_secret")
        assert [c for c, _ in write_secret(immutable=True).calls] == ["patch"]  # 422 swallowed
        created = SecretApi(immutable=False)
        reconciler = SimpleNamespace(_api=created, _log=None)
        token = MintedToken("minted", NOW, NOW + timedelta(seconds=600), "sa-uid")
        Reconciler._write_secret(reconciler, SESSION, token, TokenRecord.absent())  # type: ignore[arg-type]
        assert created.calls[0][0] == "create" and created.calls[0][1]["immutable"] is True


def observed(token: TokenRecord) -> Observed:
    return Observed(SESSION, None, "sa-uid", True, True, token, job_exists=True)


def test_forgetful_variant_refreshes_only_what_this_process_minted(monkeypatch: pytest.MonkeyPatch) -> None:
    from operator_stub import reconcile

    assert Action.MINT_TOKEN in plan(observed(record(5)), NOW, POLICY).actions
    apply(monkeypatch, "operator_forgets_refresh_after_restart")
    adopted = reconcile.plan(observed(record(5)), NOW, POLICY)
    assert Action.MINT_TOKEN not in adopted.actions  # a Secret from before "the restart"
    assert Action.MINT_TOKEN in reconcile.plan(observed(TokenRecord.absent()), NOW, POLICY).actions
    assert Action.MINT_TOKEN in reconcile.plan(observed(record(5)), NOW, POLICY).actions  # now armed


# --- backend variants --------------------------------------------------------------------------------


def test_audience_blind_variant_builds_a_verifier_without_the_audience(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from backend_stub import __main__ as backend

    keys: Any = object()
    assert backend.JwksAuthenticator(keys, "longhaul-backend", None).audience == "longhaul-backend"
    apply(monkeypatch, "backend_ignores_audience")
    assert backend.JwksAuthenticator(keys, "longhaul-backend", None).audience is None


def test_handshake_only_variant_never_closes_at_token_expiry(monkeypatch: pytest.MonkeyPatch) -> None:
    from backend_stub import __main__ as backend

    assert backend.BackendPolicy(close_on_token_expiry=True, max_token_age=10).close_on_token_expiry
    apply(monkeypatch, "backend_keeps_connections_past_token_expiry")
    policy = backend.BackendPolicy(close_on_token_expiry=True, max_token_age=10)
    assert (policy.close_on_token_expiry, policy.max_token_age) == (False, 10)


# --- the driver's reading of results ----------------------------------------------------------------

JUNIT = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" tests="4" failures="1" errors="1" skipped="1">
<testcase classname="e2e.test_scenarios" name="test_scenario[long-session-survives-rotations]">
<failure message="AssertionError: scenario long-session-survives-rotations: 2 expectation(s) failed">
E       AssertionError: scenario long-session-survives-rotations: 2 expectation(s) failed
E         - each reconnect presents the newest token:
E             expected at least 3 reconnects with a newer token, saw 0
E         - no token in any artifact:
E             token 1a2b3c4d found in runner.log at byte 10
E         observed: {"end": "finished"}
</failure></testcase>
<testcase classname="e2e.test_scenarios" name="test_scenario[legacy-env-fallback]">
<error message="failed on setup with ComponentFailed: backend exited">trace</error></testcase>
<testcase classname="e2e.test_scenarios" name="test_scenario[apiserver-restarted]"><skipped/></testcase>
<testcase classname="e2e.test_scenarios" name="test_scenario[runner-pod-deleted]"/>
</testsuite></testsuites>
"""


def test_results_tell_failures_from_harness_errors(tmp_path: Path) -> None:
    from bugzoo.__main__ import Verdict
    from bugzoo.runs import RunResult, read_junit

    path = tmp_path / "junit.xml"
    path.write_text(JUNIT)
    result = read_junit(path)
    assert result.failed == {
        "long-session-survives-rotations": [
            "each reconnect presents the newest token",
            "no token in any artifact",
        ]
    }
    assert (result.errors.keys(), result.skipped, result.passed) == (
        {"legacy-env-fallback"},
        ["apiserver-restarted"],
        ["runner-pod-deleted"],
    )
    assert Verdict("v", "runner", "bug", result).outcome == "killed"
    errored = RunResult(passed=["a"], errors={"b": "setup failed"})
    assert Verdict("v", "runner", "bug", errored).outcome == "error"  # a broken harness is not a kill
    assert Verdict("v", "runner", "bug", RunResult(passed=["a", "b"])).outcome == "SURVIVED"


def test_leaked_tokens_are_redacted_from_results_by_fingerprint(tmp_path: Path) -> None:
    from bugzoo.runs import redact_tokens
    from longhaul.tokens import fingerprint

    token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJlLW9mLWEtdG9rZW4tdmFsdWU"
    (tmp_path / "bundle").mkdir()
    (tmp_path / "bundle" / "runner.log").write_text(f"event=connecting token_fp={token}\n")
    (tmp_path / "junit.xml").write_text("<testsuite/>")
    assert redact_tokens(tmp_path) == 1
    assert (
        tmp_path / "bundle" / "runner.log"
    ).read_text() == f"event=connecting token_fp=<token:{fingerprint(token)}>\n"


def test_the_kill_matrix_marks_expectations_that_killed_a_variant_alone() -> None:
    from bugzoo import matrix

    labels = ["runner exit code", "runner log line", "token rotations"]
    kills = [
        matrix.Kills("runner_a", {"missing-file": ["runner exit code"]}),
        matrix.Kills("runner_b", {"legacy": ["runner exit code", "runner log line"]}),
    ]
    assert matrix.lonely(labels, kills) == ["runner log line", "token rotations"]
    table = matrix.render(labels, kills)
    assert "| runner exit code | ■ | □ | V1 |" in table
    assert "| token rotations |  |  | **none** |" in table
    assert "V2 `runner_b`: legacy: runner exit code, runner log line" in table
    assert "killed no variant alone: `runner log line`, `token rotations`" in table
