"""longhaul's pytest plugin, as another repository sees it: pip-installed, found by entry point.

The checkout's root ``conftest.py`` also loads the plugin, which would hide a
broken ``pytest11`` entry point or a module missing from the wheel.  So these
tests install the repository into a throw-away target directory (``pip
install --no-deps``, no network when setuptools can build wheels itself) and
run pytest in a temporary project outside the repository, where the entry
point is the only way the plugin can arrive.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from packaging.version import Version

from longhaul.fixtures.plugin.cluster import MARKERS

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md")
_FIND = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
PACKAGES = [pattern.rstrip("*") for pattern in _FIND["include"]]  # what the wheel is built from
PIP_TIMEOUT_SECONDS = 300


def _setuptools_builds_wheels_offline() -> bool:
    """setuptools >= 70.1 has bdist_wheel built in, so no isolated build env has to be downloaded."""
    try:
        return Version(importlib.metadata.version("setuptools")) >= Version("70.1")
    except importlib.metadata.PackageNotFoundError:
        return False


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """longhaul pip-installed (no dependencies: they are this interpreter's) into a target dir."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        shutil.copy2(REPO / name, src / name)
    for package in PACKAGES:
        shutil.copytree(REPO / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path_factory.mktemp("site")
    offline = ["--no-build-isolation", "--no-index"] if _setuptools_builds_wheels_offline() else []
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", *offline, "--target", str(target)]
    done = subprocess.run(
        [*cmd, str(src)], capture_output=True, text=True, timeout=PIP_TIMEOUT_SECONDS, check=False
    )
    assert done.returncode == 0, f"pip install failed:\n{done.stdout}\n{done.stderr}"
    return target


@pytest.fixture
def project(pytester: pytest.Pytester, site: Path, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A project outside the repository whose Python sees longhaul only as an installed package."""
    monkeypatch.setenv("PYTHONPATH", str(site))
    for var in ("LONGHAUL_REQUIRE_CLUSTER", "LONGHAUL_CLUSTER", "LONGHAUL_K8S_VERSION", "KUBECONFIG"):
        monkeypatch.delenv(var, raising=False)
    assert not (pytester.path / "conftest.py").exists()
    assert REPO not in pytester.path.parents
    return pytester


def _pytest(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    # hypothesis' plugin is the slowest import of a pytest start-up here, and irrelevant to these runs
    quiet = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")
    return project.run(sys.executable, "-m", "pytest", *quiet, *args, timeout=120)


def test_the_entry_point_loads_the_installed_plugin_and_its_help_group(project: pytest.Pytester) -> None:
    result = _pytest(project, "--help")
    assert result.ret == 0, result.stderr.str()
    result.stdout.fnmatch_lines(
        [
            "longhaul: the cluster under test*",
            "  --cluster={auto,local,kind,existing}",
            "  --k8s-version=VERSION",
            "  --require-cluster*",
        ]
    )
    result.stdout.fnmatch_lines(["  --runner-image=*"])  # the longhaul-e2e entry point's options
    # Blocking the entry point by its name removes the group: it came from the entry point.
    blocked = _pytest(project, "-p", "no:longhaul", "--help")
    assert blocked.ret == 0, blocked.stderr.str()
    assert "--k8s-version" not in blocked.stdout.str()


def test_installed_plugin_registers_markers_for_strict_markers(project: pytest.Pytester) -> None:
    decorators = "".join(f"@pytest.mark.{name}\n" for name in MARKERS)
    project.makepyfile(
        test_marked=f"import pytest\n\n{decorators}def test_registered():\n    pass\n",
        test_unknown="import pytest\n\n@pytest.mark.not_a_longhaul_marker\ndef test_unknown():\n    pass\n",
    )
    result = _pytest(project, "--strict-markers", "--continue-on-collection-errors")
    result.assert_outcomes(passed=1, errors=1)  # every longhaul marker is known; a typo is not
    result.stdout.fnmatch_lines(["*'not_a_longhaul_marker' not found in `markers` configuration option*"])


def test_cluster_fixture_skips_with_the_reason_and_the_run_is_described(
    project: pytest.Pytester, site: Path
) -> None:
    missing = project.path / "no-such-kubeconfig"
    project.makepyfile(
        test_uses_cluster=f"""
        import longhaul.fixtures.plugin.cluster
        import pytest

        def test_plugin_comes_from_the_installed_package():
            plugin = longhaul.fixtures.plugin.cluster.__file__
            assert plugin.startswith({str(site)!r}), plugin

        @pytest.mark.e2e
        def test_needs_a_cluster(cluster):
            raise AssertionError("must not run without a cluster")
        """
    )
    junit = project.path / "junit.xml"
    result = _pytest(
        project,
        "-rs",
        "--strict-markers",
        "--cluster",
        "existing",
        "--kubeconfig",
        str(missing),
        "--k8s-version",
        "v1.33.7",
        f"--junitxml={junit}",
    )
    assert result.ret == 0, result.stdout.str()
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(
        [
            "longhaul: cluster provider existing (requested), Kubernetes v1.33.7",
            "longhaul: implementations under test: operator=operator_stub (reference), *",
            f"SKIPPED*no cluster: no kubeconfig at {missing}; pass --kubeconfig or set KUBECONFIG",
        ]
    )
    props = {p.get("name"): p.get("value") for p in ET.parse(junit).getroot().iter("property")}
    assert props["longhaul.provider"] == "existing"
    assert props["longhaul.k8s_version"] == "v1.33.7"
    assert props["longhaul.implementation.runner"] == "runner_stub (reference)"
    assert "no kubeconfig" in str(props["longhaul.provider_unavailable"])


def test_require_cluster_turns_the_skip_into_a_failure(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makepyfile(
        test_uses_cluster="""
        def test_needs_a_cluster(cluster):
            pass
        """
    )
    monkeypatch.setenv("LONGHAUL_REQUIRE_CLUSTER", "1")  # what CI sets (.ci/run, kind-tox.yml)
    result = _pytest(project, "--cluster", "existing", "--kubeconfig", str(project.path / "absent"))
    assert result.ret == 1
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*no cluster: no kubeconfig at *(--require-cluster*"])


def test_the_wheel_puts_no_generic_top_level_names_into_site_packages(site: Path) -> None:
    """``fixtures`` and ``scenarios`` ship inside ``longhaul``; the bug zoo is not shipped at all."""
    top_level = {p.name for p in site.iterdir() if not p.name.endswith((".dist-info", ".egg-info"))}
    assert top_level == {"longhaul", "operator_stub", "runner_stub", "backend_stub"}, top_level
    assert (site / "longhaul" / "fixtures" / "plugin" / "cluster.py").is_file()
    assert (site / "longhaul" / "scenarios" / "catalog.py").is_file()
    assert (site / "longhaul" / "fixtures" / "images" / "pause.go").is_file()  # package data


def test_installed_longhaul_lives_beside_pypis_fixtures_distribution(
    project: pytest.Pytester, site: Path
) -> None:
    """PyPI's ``fixtures`` (testtools) in the same environment as longhaul: both import, neither shadows.

    PyPI's distribution is installed in this interpreter (longhaul's dev extra);
    longhaul comes from the target directory, which is *ahead* of site-packages
    on ``sys.path``: a top-level ``fixtures`` in the wheel would win and break it.
    """
    theirs = importlib.metadata.distribution("fixtures")
    project.makepyfile(
        test_both=f"""
        import fixtures
        import longhaul.fixtures.plugin.cluster

        def test_pypi_fixtures_is_the_one_imported_as_fixtures():
            assert fixtures.__file__.startswith({str(theirs.locate_file(""))!r}), fixtures.__file__
            assert issubclass(fixtures.MonkeyPatch, fixtures.Fixture)  # testtools' API, not longhaul's
            with fixtures.TempDir() as tmp:
                assert tmp.path

        def test_longhaul_plugin_comes_from_the_installed_wheel():
            plugin = longhaul.fixtures.plugin.cluster.__file__
            assert plugin.startswith({str(site)!r}), plugin
        """
    )
    result = _pytest(project, "-v")
    assert result.ret == 0, result.stdout.str() + result.stderr.str()
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["longhaul: cluster provider *"])  # the plugin loaded by entry point


def test_a_run_that_judged_no_scenario_fails_unless_the_user_allows_it(project: pytest.Pytester) -> None:
    """Every scenario skipped (here: the cluster provider cannot run) is no pass."""
    project.makepyfile(
        test_scenarios="""
        import pytest

        @pytest.mark.e2e
        @pytest.mark.parametrize("scenario", ["long-session", "fails-fast"])
        def test_scenario(scenario, cluster):
            raise AssertionError("must not run without a cluster")
        """
    )
    missing = str(project.path / "absent")
    result = _pytest(project, "--cluster", "existing", "--kubeconfig", missing, "-p", "no:xdist")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    result.assert_outcomes(skipped=2)
    result.stdout.fnmatch_lines(
        ["longhaul: no scenario was judged (2 not judged: no cluster: no kubeconfig at*"]
    )
    allowed = _pytest(
        project, "--cluster", "existing", "--kubeconfig", missing, "-p", "no:xdist", "--allow-nothing-judged"
    )
    assert allowed.ret == pytest.ExitCode.OK, allowed.stdout.str()
