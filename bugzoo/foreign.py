"""The foreign implementations' broken variants, judged through their profile like a real user's code.

``python -m bugzoo.foreign [--only NAME,...] [-- PYTEST_ARGS]``.  Each variant of
``tests/foreign/ambient_operator/broken`` and ``tests/foreign/ambient_runner/broken`` replaces one
behaviour of the foreign program (see ``tests/foreign/README.md``).  This driver puts it under test
with nothing but ``--profile tests/foreign/ambient_operator/profile.toml`` and the variant's command
(``--operator-cmd`` / ``--runner-cmd``), runs the fast-tier scenarios named below, and counts a
variant as killed only if one of them *failed* (an expectation did not hold) in the JUnit report; a
harness error or a skip is no kill.  Exit 1 if any variant survived.  The profile's runner image
already holds the ``broken`` package, so no rebuild happens per variant.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from bugzoo.runs import read_junit

REPO = Path(__file__).resolve().parents[1]
PROFILE = REPO / "tests/foreign/ambient_operator/profile.toml"

# variant -> (component, the scenarios expected to catch it)
VARIANTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "no_secret_recreate": ("operator", ("token-secret-deleted-and-recreated",)),
    "subpath_mount": ("operator", ("upstream-contract-survives-rotations",)),
    "token_in_env": ("operator", ("upstream-contract-survives-rotations",)),
    "no_refresh": ("operator", ("upstream-contract-survives-rotations",)),
    "caches_token": ("runner", ("upstream-contract-survives-rotations",)),
    "empty_token_on_missing_file": ("runner", ("missing-file-fails-fast-absent",)),
    "exit_0_on_failure": ("runner", ("missing-file-fails-fast-absent",)),
    "logs_token": ("runner", ("upstream-contract-survives-rotations",)),
    "never_gives_up": ("runner", ("refresh-stalled-fails-loudly",)),
}


def variant_options(name: str, component: str) -> list[str]:
    if component == "operator":
        return ["--operator-cmd", f"{sys.executable} -m ambient_operator.broken.{name}"]
    return ["--runner-cmd", f"python3 -m ambient_runner.broken.{name}"]


def hunt(name: str, workdir: Path, extra: list[str]) -> tuple[bool, str]:
    component, scenarios = VARIANTS[name]
    junit = workdir / f"{name}.xml"
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-q"]
    argv += ["-o", "testpaths=e2e", "-m", "e2e and not soak", "--profile", str(PROFILE)]
    argv += ["--junitxml", str(junit), "--artifacts-dir", str(workdir / name), *extra]
    argv += [*variant_options(name, component), "-k", " or ".join(scenarios)]
    subprocess.run(argv, cwd=REPO, capture_output=True, text=True)
    result = read_junit(junit)  # the zoo's own reading: a harness error reported as a failure is no kill

    def outcome(scenario: str) -> str:
        if scenario in result.failed:
            return "failed: " + ", ".join(result.failed[scenario])
        if scenario in result.errors:
            return f"error: {result.errors[scenario]}"
        return (
            "passed" if scenario in result.passed else "skipped" if scenario in result.skipped else "not run"
        )

    killed = any(s in result.failed for s in scenarios)
    return killed, "; ".join(f"{s}: {outcome(s)}" for s in scenarios)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bugzoo.foreign", description=__doc__)
    parser.add_argument("--only", default="", help="comma-separated variant names")
    parser.add_argument("pytest_args", nargs="*", help="after --: passed to every pytest run")
    args = parser.parse_args(argv)
    names = [n for n in args.only.split(",") if n] or list(VARIANTS)
    unknown = sorted(set(names) - set(VARIANTS))
    if unknown:
        parser.error(f"unknown variant(s) {unknown}; known: {sorted(VARIANTS)}")
    survivors = []
    print("| variant | component | killed | scenarios |\n|---|---|---|---|", flush=True)
    with tempfile.TemporaryDirectory(prefix="longhaul-foreign-zoo-") as tmp:
        for name in names:
            killed, detail = hunt(name, Path(tmp), args.pytest_args)
            if not killed:
                survivors.append(name)
            print(
                f"| `{name}` | {VARIANTS[name][0]} | {'yes' if killed else 'SURVIVED'} | {detail} |",
                flush=True,
            )
    if survivors:
        print(f"survived: {', '.join(survivors)}")
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
