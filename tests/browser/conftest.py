"""Headless Chromium for the console tests: Debian's ``chromium`` driven by Playwright's driver
(the ``playwright`` package; its own browser download is not used). Without the browser the
tests skip with the reason; under ``CI=true`` they fail (``.ci/run`` installs it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import IN_CI

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parent / ".artifacts"


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason}, and CI=true requires the browser tests")
    pytest.skip(f"{reason} (set CI=true to make this fail)")


@pytest.fixture(scope="module")  # closed before other modules' tests run their own loops
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Screenshots are kept here (git-ignored) after the run."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
