"""The workbench pages of issue 15, second part, in a real browser: the notifications bell, login
with a username and password, the admin page, the supervision dashboard (督办), the case list.
Same live server and Chromium as tests/test_pages.py; every page load is checked for console
errors and failed requests, and screenshots go to test-artifacts/pages/."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

try:
    from playwright.sync_api import expect
except ImportError:   # the browser fixture skips (or fails under SIJI_REQUIRE_BROWSER) with the reason
    expect = None

from test_pages import USCC_A, browser, case_at_reviews, live, login, shot  # noqa: F401
from test_pages_workbench import clean, page  # noqa: F401


def _mini(live, user, bk):
    return live.start("mini", user, {"enterprise_name": "x", "credit_code": USCC_A}, business_key=bk)["id"]


def _unread(live, user) -> int:
    return live.ok(live.get("/api/notifications?unread=true&per_page=1", user))["unread"]


# ------------------------------------------------------------------ notifications bell
def test_bell_counts_lists_links_and_marks_read(page, live):
    pg = page
    live.add_user("fire_boss", ["fire_rescue"])   # nothing for the fire brigade yet
    login(pg, live, "fire_boss", "/inbox")
    pg.wait_for_selector("#bell")
    expect(pg.locator("#bell-count")).to_be_hidden()
    pg.click("#bell")
    pg.wait_for_selector("#bell-empty")
    shot(pg, "bell-empty.png")
    pg.keyboard.press("Escape")
    expect(pg.locator("#bell-list")).to_be_hidden()

    # a completion case at its special reviews: the fire brigade's task is new, then due soon,
    # then overdue — each a notification for the brigade (the escalation goes to the office)
    iid = case_at_reviews(live)
    tid = live.task_for("fire", iid, "Task_ReviewFireSafety")["id"]
    due = datetime.fromisoformat(live.ok(live.get(f"/api/tasks/{tid}", "fire"))["due_at"])
    live.advance(due - timedelta(hours=6) - live.clock.now())
    live.advance(timedelta(hours=7))
    assert live.ok(live.get(f"/api/tasks/{tid}", "fire"))["deadline_status"] == "overdue"
    unread = _unread(live, "fire")
    kinds = [n["kind"] for n in live.ok(live.get("/api/notifications?per_page=100", "fire"))["items"]
             if n["task_id"] == tid]
    assert sorted(kinds) == ["overdue", "reminder", "task_created"], kinds
    pg.evaluate("sessionStorage.clear()")
    login(pg, live, "fire", "/inbox")
    expect(pg.locator("#bell-count")).to_have_text(str(unread))
    pg.click("#bell")
    pg.wait_for_selector("#bell-list li.unread")
    mine = pg.locator("#bell-list li", has=pg.locator(f'a[href="/inbox?task={tid}"]'))
    expect(mine).to_have_count(3)
    assert mine.locator(".badge").all_inner_texts() == ["已逾期", "即将到期", "新待办"]   # newest first
    shot(pg, "bell-open.png")
    # mark one read with its button: the count drops by one, on the page and in the API
    first = mine.first
    first.locator(".mark-read").click()
    expect(first).to_have_class("read")
    expect(pg.locator("#bell-count")).to_have_text(str(unread - 1))
    assert _unread(live, "fire") == unread - 1
    # opening another marks it read and leads to the task in the inbox
    target = mine.nth(1)
    target.locator("a").click()
    pg.wait_for_url(f"**/inbox?task={tid}")
    pg.wait_for_selector("#task-form, #detail h2")
    assert _unread(live, "fire") == unread - 2
    expect(pg.locator("#bell-count")).to_have_text(str(unread - 2))
    clean(pg)
    # an auditor has no inbox and no bell (its notifications call would be refused)
    pg.evaluate("sessionStorage.clear()")
    login(pg, live, "auditor", "/")
    pg.wait_for_selector("#whoami")
    assert pg.locator("#bell").count() == 0
    clean(pg)
