"""A real headless browser for the tests that look at what longhaul renders.

Playwright's Python package drives the *system* Chromium (Debian's
``chromium``, or Chrome on a GitHub runner) through ``executable_path``:
``playwright install`` downloads browsers, which fails offline.  Without a
browser the tests skip with the reason, except in CI (``CI=true``) or with
``LONGHAUL_REQUIRE_BROWSER=1``, where a missing browser is a failure: the
report page must be checked there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL = "apt-get install chromium (Debian) and pip install playwright (longhaul's dev extra)"


def required() -> bool:
    return os.environ.get("CI", "").lower() == "true" or os.environ.get("LONGHAUL_REQUIRE_BROWSER") == "1"


def unavailable(reason: str) -> None:
    message = f"no headless browser: {reason}; {INSTALL}"
    if required():
        pytest.fail(f"{message} (required here: CI=true or LONGHAUL_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(message)


def chromium_path() -> str | None:
    chosen = os.environ.get("LONGHAUL_CHROMIUM")
    if chosen:
        return chosen if Path(chosen).is_file() else None
    return next((found for name in CANDIDATES if (found := shutil.which(name))), None)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed")
    executable = chromium_path()
    if executable is None:
        unavailable(f"none of {', '.join(CANDIDATES)} on PATH (or LONGHAUL_CHROMIUM)")
    with sync_playwright() as pw:
        # --no-sandbox: CI containers and this project's machines run the tests as root.
        launched = pw.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 900}, device_scale_factor=1)
    opened = context.new_page()
    yield opened
    context.close()
