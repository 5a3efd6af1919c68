"""The workbench pages in a real browser (issue 15): API docs, the department inbox with its
filters and paging, supervisor actions and comments. Same live server and Chromium as
tests/test_pages.py; every page load is checked for console errors and failed requests, and
screenshots go to test-artifacts/pages/."""
from __future__ import annotations

from datetime import timedelta

import pytest

from test_pages import (CHROMIUM_ARGS, TIMEOUT_MS, USCC_A, browser, case_at_reviews, live, login,  # noqa: F401
                        real_errors, shot)


@pytest.fixture
def page(browser, live):  # noqa: F811
    """A page that also records every failed request and every answer >= 400 it did not expect."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN",
                                  timezone_id="Asia/Shanghai", accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    failed: list[str] = []
    pg.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    pg.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    pg.on("requestfailed", lambda r: failed.append(f"{r.method} {r.url}: {r.failure}"))
    pg.on("response", lambda r: failed.append(f"{r.request.method} {r.url}: {r.status}") if r.status >= 400 else None)
    pg.errors = errors
    pg.failed = failed
    yield pg
    context.close()


def clean(pg, expected_status: tuple[int, ...] = ()) -> None:
    """No console error and no failed request on the page (bar the answers a step expects)."""
    assert not real_errors(pg), real_errors(pg)
    bad = [f for f in pg.failed if not any(f.endswith(f": {c}") for c in expected_status)]
    assert not bad, bad


# ------------------------------------------------------------------ API docs
def test_api_docs_render_swagger_ui_offline(page, live):
    pg = page
    external: list[str] = []
    pg.on("request", lambda r: external.append(r.url) if not r.url.startswith(live.base_url) and
          not r.url.startswith("data:") else None)
    pg.goto(live.base_url + "/api/docs")
    pg.wait_for_selector("#swagger-ui .opblock-tag-section")
    pg.wait_for_selector('#swagger-ui .opblock-summary-path[data-path="/api/tasks"]')
    assert "四即" in pg.inner_text("#swagger-ui .info")
    assert pg.locator("#swagger-ui .opblock").count() > 20
    shot(pg, "api-docs.png")
    assert not external, external
    clean(pg)
