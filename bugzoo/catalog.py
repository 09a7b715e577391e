"""The variants in the zoo, found by module name, and what each one claims about itself.

A variant is a module ``bugzoo/runner_*.py``, ``bugzoo/operator_*.py`` or ``bugzoo/backend_*.py`` with
a docstring whose first line names the bug, ``OVERRIDES`` (what it changes in
the stub) and ``KILLED_BY`` (the scenarios expected to catch it; the driver
runs those first, but a variant counts as killed only by scenarios that
actually failed).  Dropping a new module in is all it takes to add one.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

import bugzoo
from bugzoo._override import Override

PACKAGE_DIR = Path(bugzoo.__file__).resolve().parent
COMPONENTS = ("runner", "operator", "backend")


class BadVariant(ValueError):
    """A variant module lacks what the driver needs (docstring, OVERRIDES, KILLED_BY)."""


@dataclass(frozen=True)
class Variant:
    name: str  # module name under bugzoo, e.g. runner_logs_token
    component: str  # runner | operator | backend
    bug: str  # the docstring's first line
    killed_by: tuple[str, ...]
    overrides: tuple[Override, ...]

    @property
    def module(self) -> str:
        return f"{bugzoo.__name__}.{self.name}"

    def pytest_options(self, runner_code_dirs: tuple[Path, ...]) -> list[str]:
        """The ``longhaul-impl`` options that put this variant under test in place of its stub."""
        if self.component == "runner":
            image = os.pathsep.join(str(d) for d in runner_code_dirs)
            return ["--runner-image", image, "--runner-cmd", f"python3 -m {self.module}"]
        # The operator and the backend run beside the harness, with the checkout on their path.
        return [f"--{self.component}-cmd", f"{shlex.quote(sys.executable)} -m {self.module}"]


def load(name: str) -> Variant:
    component = name.split("_", 1)[0]
    if component not in COMPONENTS:
        raise BadVariant(f"{name}: a variant module's name starts with one of {COMPONENTS}")
    module = importlib.import_module(f"{bugzoo.__name__}.{name}")
    doc = (module.__doc__ or "").strip()
    overrides = getattr(module, "OVERRIDES", ())
    killed_by = getattr(module, "KILLED_BY", ())
    if not doc or not overrides or not killed_by:
        raise BadVariant(f"{name}: needs a docstring naming the bug, OVERRIDES and KILLED_BY")
    for override in overrides:
        override.replacement()  # the stub still has what the variant overrides
    return Variant(name, component, doc.splitlines()[0], tuple(killed_by), tuple(overrides))


def variant_names() -> list[str]:
    return sorted(
        info.name
        for info in pkgutil.iter_modules([str(PACKAGE_DIR)])
        if info.name.split("_", 1)[0] in COMPONENTS
    )


def all_variants() -> list[Variant]:
    return [load(name) for name in variant_names()]
