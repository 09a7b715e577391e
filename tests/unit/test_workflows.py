"""The GitHub Actions workflows and tox envs, checked here so a broken one fails before a user's PR.

actionlint (built with ``go install`` at a pinned version, see
:mod:`longhaul.fixtures.gobuild.gotool`) checks syntax, expressions, reusable-workflow inputs
and, when shellcheck is installed, every ``run:`` script.  The structural
tests check what actionlint cannot know: that the matrix covers exactly the
Kubernetes versions longhaul pins, that each cell's artifacts have unique
names, that tox passes the environment and arguments through.
"""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from longhaul.fixtures.cluster.kind.binary import KIND_VERSION
from longhaul.fixtures.cluster.kind.config import NODE_IMAGES, minor_of
from longhaul.fixtures.gobuild.gotool import ACTIONLINT, GoTool

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
REUSABLE = "./.github/workflows/kind-tox.yml"
PYTHONS = {"3.11", "3.12", "3.13"}
TOX_ENVS = ("py", "e2e", "soak", "mutants", "lint", "type")
REQUIRED_PASS_ENV = {
    "KUBECONFIG",
    "DOCKER_HOST",
    "KIND_*",
    "CI",
    "GITHUB_ACTIONS",
    "GITHUB_STEP_SUMMARY",
    "LONGHAUL_*",
}
pytest_plugins = ["pytester"]
PINNED_ACTION = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$")


def load(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    assert isinstance(doc, dict), name
    if True in doc:  # YAML 1.1 reads the key `on` as a boolean
        doc["on"] = doc.pop(True)
    return doc


def all_workflows() -> list[str]:
    return sorted(p.name for p in WORKFLOWS.glob("*.yml"))


def steps(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for job in doc["jobs"].values():
        yield from job.get("steps", [])


# --- actionlint ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def actionlint() -> Path:
    reason = ACTIONLINT.unavailable_reason()
    if reason:
        pytest.skip(reason)
    path = ACTIONLINT.find()
    assert path is not None
    return path


def lint(binary: Path, root: Path) -> subprocess.CompletedProcess[str]:
    files = sorted(str(p.relative_to(root)) for p in (root / ".github" / "workflows").glob("*.yml"))
    assert files, f"no workflows under {root}"
    return subprocess.run(
        [str(binary), "-no-color", *files], cwd=root, capture_output=True, text=True, timeout=120
    )


def test_workflows_lint_clean(actionlint: Path) -> None:
    result = lint(actionlint, REPO)
    assert result.returncode == 0, f"actionlint:\n{result.stdout}{result.stderr}"


def test_actionlint_catches_a_broken_workflow(actionlint: Path, tmp_path: Path) -> None:
    """The lint above is not vacuous: the same call fails on a workflow with a real mistake."""
    shutil.copytree(REPO / ".github", tmp_path / ".github")
    (tmp_path / ".git").mkdir()  # actionlint's project root, for the reusable workflow's inputs
    e2e = tmp_path / ".github" / "workflows" / "e2e.yml"
    e2e.write_text(e2e.read_text().replace("${{ matrix.k8s }}\n", "${{ matrix.kube }}\n"))
    result = lint(actionlint, tmp_path)
    assert result.returncode != 0
    assert 'property "kube" is not defined' in result.stdout, result.stdout


def test_a_missing_tool_without_go_is_a_clear_skip_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no go, no tool
    monkeypatch.setenv("LONGHAUL_CACHE", str(tmp_path / "cache"))
    tool = GoTool("sometool", "example.com/sometool/cmd/sometool", "v1.2.3")
    reason = tool.unavailable_reason()
    assert reason is not None
    assert "go install example.com/sometool/cmd/sometool@v1.2.3" in reason
    assert tool.find() is None


# --- the e2e matrix -----------------------------------------------------------------------


def test_e2e_matrix_covers_every_pinned_kind_node_image() -> None:
    job = load("e2e.yml")["jobs"]["e2e"]
    matrix = job["strategy"]["matrix"]
    versions = matrix["k8s"]
    assert len(versions) >= 4
    assert {minor_of(v) for v in versions} == set(NODE_IMAGES)
    for version in versions:  # the exact version of the pinned image, not just its minor
        assert NODE_IMAGES[minor_of(version)].startswith(f"kindest/node:{version}@sha256:"), version
    assert all(isinstance(p, str) for p in matrix["python"]), "quote Python versions: 3.10 != '3.10'"
    assert set(matrix["python"]) >= PYTHONS
    assert job["strategy"]["fail-fast"] is False


def test_e2e_and_soak_cells_pass_their_matrix_values_to_the_kind_run() -> None:
    for name, tox_env in (("e2e.yml", "e2e"), ("soak.yml", "soak")):
        (job,) = load(name)["jobs"].values()
        assert job["uses"] == REUSABLE
        assert job["strategy"]["fail-fast"] is False
        assert {minor_of(v) for v in job["strategy"]["matrix"]["k8s"]} <= set(NODE_IMAGES)
        assert job["with"]["tox-env"] == tox_env
        assert job["with"]["k8s-version"] == "${{ matrix.k8s }}"
        assert job["with"]["python-version"] == "${{ matrix.python }}"
        assert isinstance(job["with"]["timeout-minutes"], int) and job["with"]["timeout-minutes"] > 0


def test_soak_is_scheduled() -> None:
    triggers = load("soak.yml")["on"]
    assert triggers["schedule"] and all("cron" in s for s in triggers["schedule"])


def test_the_kind_run_times_out_and_runs_tox_against_the_pinned_kind() -> None:
    doc = load("kind-tox.yml")
    assert set(doc["on"]["workflow_call"]["inputs"]) >= {"tox-env", "k8s-version", "python-version"}
    assert doc["env"]["KIND_VERSION"] == KIND_VERSION
    (job,) = doc["jobs"].values()
    assert job["timeout-minutes"] == "${{ inputs.timeout-minutes }}"
    assert job["env"]["LONGHAUL_REQUIRE_CLUSTER"] == "1"
    scripts = "\n".join(s.get("run", "") for s in job["steps"])
    assert 'go install "sigs.k8s.io/kind@$KIND_VERSION"' in scripts
    (tox,) = [s["run"] for s in job["steps"] if "-m tox -e" in s.get("run", "")]
    for flag in ("--cluster kind", '--k8s-version "$K8S_VERSION"', '--kind-bin "$KIND_BIN"', "--junitxml"):
        assert flag in tox, flag


def test_failure_evidence_is_uploaded_under_names_unique_per_cell() -> None:
    (job,) = load("kind-tox.yml")["jobs"].values()
    uploads = [s for s in job["steps"] if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert uploads
    for step in uploads:
        name = step["with"]["name"]
        for value in ("inputs.tox-env", "inputs.k8s-version", "inputs.python-version"):
            assert "${{ " + value + " }}" in name, (name, value)
    on_failure = [s for s in uploads if s.get("if") == "failure()"]
    assert any("longhaul-artifacts/" in s["with"]["path"] for s in on_failure)
    assert any("kind-logs/" in s["with"]["path"] for s in on_failure)
    exports = [s for s in job["steps"] if "export logs" in s.get("run", "")]
    assert exports and all(s.get("if") == "failure()" for s in exports)
    summaries = [s for s in job["steps"] if "GITHUB_STEP_SUMMARY" in s.get("run", "")]
    assert summaries and all(s.get("if") == "always()" for s in summaries)
    assert all("longhaul.fixtures.plugin.junit_summary" in s["run"] for s in summaries)


def test_the_run_report_is_uploaded_for_every_run_and_the_summary_points_to_it() -> None:
    (job,) = load("kind-tox.yml")["jobs"].values()
    always = [
        s
        for s in job["steps"]
        if s.get("uses", "").startswith("actions/upload-artifact@") and s.get("if") == "always()"
    ]
    assert any("longhaul-artifacts/index.html" in s["with"]["path"] for s in always)
    (summary,) = [s["run"] for s in job["steps"] if "GITHUB_STEP_SUMMARY" in s.get("run", "")]
    assert "index.html" in summary and "longhaul-report-$CELL" in summary


# --- every workflow -----------------------------------------------------------------------


@pytest.mark.parametrize("name", all_workflows())
def test_every_workflow_is_bounded_and_pinned(name: str) -> None:
    doc = load(name)
    assert doc.get("permissions") == {"contents": "read"}, "least privilege"
    if "workflow_call" not in doc["on"]:  # a called workflow runs in its caller's group
        assert doc["concurrency"]["group"]
    for job_id, job in doc["jobs"].items():
        if "uses" not in job:  # a reusable-workflow call has its timeout inside the callee
            assert job.get("timeout-minutes"), f"{name}: job {job_id} has no timeout"
    for step in steps(doc):
        action = step.get("uses")
        if action and not action.startswith("./"):
            assert PINNED_ACTION.match(action), f"{name}: {action} is not pinned to a version"


def test_ci_runs_lint_types_and_the_fast_test_tiers() -> None:
    scripts = "\n".join(s.get("run", "") for s in steps(load("ci.yml")))
    assert "tox -e lint" in scripts
    assert "tox -e type" in scripts
    assert "tox -e py -- tests/unit tests/component" in scripts


# --- tox -----------------------------------------------------------------------------------


def tox_ini() -> configparser.ConfigParser:
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(REPO / "tox.ini")
    return ini


def test_tox_defines_every_env_with_the_environment_passed_through() -> None:
    ini = tox_ini()
    assert ini["tox"]["env_list"].split(",")[0].strip() == "py"
    for env in TOX_ENVS:
        assert env == "py" or f"testenv:{env}" in ini, f"tox env {env} missing"
        section = ini["testenv"] if env == "py" else ini[f"testenv:{env}"]
        # an env that sets its own pass_env would drop the base list
        assert "pass_env" not in section or env == "py", env
    assert set(ini["testenv"]["pass_env"].split()) >= REQUIRED_PASS_ENV


def tox_commands(*posargs: str) -> configparser.ConfigParser:
    """The commands tox would run for the test envs, with ``posargs`` substituted by tox itself."""
    pytest.importorskip("tox")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tox",
            "config",
            "-e",
            "py,e2e,soak,realtime,mutants",
            "-k",
            "commands",
            "--",
            *posargs,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    config = configparser.ConfigParser(interpolation=None)
    config.read_string(done.stdout)
    return config


def test_tox_passes_pytest_arguments_through() -> None:
    config = tox_commands("-k", "fallback", "--keep-cluster")
    for env in ("py", "e2e", "soak", "realtime", "mutants"):
        command = config[f"testenv:{env}"]["commands"]
        assert command.endswith("-k fallback --keep-cluster"), (env, command)
    for env, selection in (
        ("e2e", "-m 'e2e and not soak'"),
        ("soak", "-m 'soak and not realtime'"),
        ("realtime", "-m realtime"),
    ):
        assert f"-o testpaths=e2e {selection}" in config[f"testenv:{env}"]["commands"]


def test_tox_e2e_with_options_only_still_runs_the_e2e_directory(pytester: pytest.Pytester) -> None:
    """`tox -e e2e -- -k fallback --keep-cluster` must not fall back to the default testpaths."""
    pytester.makefile(
        ".ini",
        pytest="[pytest]\ntestpaths = tests\nmarkers =\n    e2e: e2e\n    soak: soak\n",
    )
    test = "import pytest\n\n@pytest.mark.e2e\ndef test_fallback():\n    pass\n"
    for where in ("e2e", "tests"):
        pytester.mkdir(where)
        (pytester.path / where / f"test_{where}_scenario.py").write_text(test)
    command = shlex.split(tox_commands("-k", "fallback", "--keep-cluster")["testenv:e2e"]["commands"])
    assert command[0] == "pytest"
    result = pytester.runpytest(*command[1:], "-v")
    result.assert_outcomes(passed=1)
    # `-v` prints "path::test PASSED", or with xdist "[gw0] [100%] PASSED path::test".
    result.stdout.fnmatch_lines(["*PASSED*e2e/test_e2e_scenario.py::test_fallback*"])
