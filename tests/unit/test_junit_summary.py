"""The step-summary Markdown, from JUnit XML that pytest itself wrote."""

from __future__ import annotations

from pathlib import Path

import pytest

from longhaul.fixtures.plugin.junit_summary import MAX_LISTED, main, read_results, render
from longhaul.fixtures.plugin.run_info import RunInfo

pytest_plugins = ["pytester"]


@pytest.fixture
def junit(pytester: pytest.Pytester) -> Path:
    """A real pytest run with every outcome, and longhaul's properties recorded as the plugin does."""
    info = RunInfo(provider="kind", provider_choice="kind (requested)", k8s_version="v1.35.0")
    pytester.makeconftest(
        f"""
        import pytest

        @pytest.fixture(scope="session", autouse=True)
        def _props(record_testsuite_property):
            for name, value in {info.properties()!r}:
                record_testsuite_property(name, value)
        """
    )
    pytester.makepyfile(
        test_outcomes="""
        import pytest

        def test_ok():
            pass

        def test_broken():
            assert 1 == 2, "rotation 3 | never observed"

        @pytest.fixture
        def bad():
            raise RuntimeError("fixture exploded")

        def test_error(bad):
            pass

        def test_skipped():
            pytest.skip("no cluster: kind needs a container engine")
        """
    )
    path = pytester.path / "junit.xml"
    pytester.runpytest(f"--junitxml={path}", "-p", "no:cacheprovider")
    return path


def test_counts_properties_and_failures_come_from_the_file(junit: Path) -> None:
    result = read_results(junit)
    assert (result.tests, result.failures, result.errors, result.skipped) == (4, 1, 1, 1)
    assert result.passed == 1 and not result.ok
    assert result.properties["provider"] == "kind"
    assert result.properties["k8s_version"] == "v1.35.0"
    kinds = {o.test_id.rsplit("::", 1)[-1]: o.kind for o in result.outcomes}
    assert kinds == {"test_broken": "failure", "test_error": "error", "test_skipped": "skipped"}


def test_markdown_names_the_cell_and_each_failure(junit: Path) -> None:
    text = render([read_results(junit)], title="e2e-k8s-v1.35.0-py3.13")
    assert text.startswith("### e2e-k8s-v1.35.0-py3.13\n")
    assert "| ❌ `junit.xml` | kind | v1.35.0 | 1 | 1 | 1 | 1 |" in text
    assert "test_broken` (failure): AssertionError: rotation 3 \\| never observed" in text  # table-safe
    assert "test_error` (error)" in text
    assert "no cluster: kind needs a container engine" in text
    assert "Implementations under test: operator: operator_stub (reference)" in text


def test_long_failure_lists_are_cut(tmp_path: Path) -> None:
    cases = "".join(
        f'<testcase classname="t" name="c{i}"><failure message="m{i}"/></testcase>' for i in range(50)
    )
    path = tmp_path / "many.xml"
    path.write_text(f'<testsuites><testsuite tests="50" failures="50">{cases}</testsuite></testsuites>')
    text = render([read_results(path)])
    assert text.count("(failure)") == MAX_LISTED
    assert f"and {50 - MAX_LISTED} more" in text


def test_missing_or_broken_files_are_reported_not_raised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.xml"
    broken.write_text("<testsuites><testsuite")
    assert main(["--title", "cell", str(tmp_path / "absent.xml"), str(broken)]) == 0
    out = capsys.readouterr().out
    assert "absent.xml" in out and "broken.xml" in out and "Unreadable results" in out


def test_no_files_at_all_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    assert "No JUnit results" in capsys.readouterr().out
