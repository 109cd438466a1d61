"""Fixtures of the browser tests: one ``repprofile serve`` for the session, Debian's
chromium driven by Playwright, and axe-core's script.

Every test here is marked ``browser`` (``pytest -m browser`` runs only them; ``make test``
runs them with the rest). Without /usr/bin/chromium or tests/browser/node_modules/axe-core
they fail, naming the install step: they are not skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Playwright, sync_playwright

from ._harness import (
    AXE,
    CHROMIUM,
    CHROMIUM_ARGS,
    Server,
    require_prerequisites,
    start_server,
    stop_server,
)

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test of this folder ``browser``."""
    for item in items:
        if Path(str(item.fspath)).resolve().parent == HERE:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One ``repprofile serve`` (SQLite in a temporary data directory) for the session."""
    require_prerequisites()
    srv = start_server(tmp_path_factory.mktemp("browser-server"))
    try:
        yield srv
    finally:
        stop_server(srv)


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    require_prerequisites()
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Headless Debian chromium (the registry's browser download is not used)."""
    b = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh desktop browser context (1280 x 900), closed after the test."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture(scope="package")
def axe_source() -> str:
    """axe-core's minified script (npm, pinned in tests/browser/package.json)."""
    require_prerequisites()
    return AXE.read_text(encoding="utf-8")
