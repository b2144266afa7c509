"""Fixtures of the browser tests: one headless Chromium for the whole session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.chromium import ARGS, CHROMIUM


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (make test installs it)")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()
