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


# ------------------------------------------------------------------ password login, admin page
PW = "correct horse 2020"


def test_admin_page_adds_a_user_who_logs_in_with_a_password(page, live):
    pg = page
    # the admin itself logs in with the API token (still offered), opens /admin from the header
    login(pg, live, "admin", "/")
    pg.click('#nav a[href="/admin"]')
    pg.wait_for_selector("#user-table tbody tr")
    assert "bureau" in pg.inner_text("#user-table")
    pg.fill("#new-username", "zhang_san")
    pg.fill("#new-display-name", "张三")
    pg.fill("#new-password", "short")
    pg.check("#new-approval_bureau")
    pg.click("#create-user")                       # too short: the server names the field, nothing made
    pg.wait_for_selector("#new-user-msg.msg-error")
    assert "密码" in pg.inner_text("#new-user-msg")
    assert pg.locator('#user-table tr[data-user="zhang_san"]').count() == 0
    pg.fill("#new-password", PW)
    pg.click("#create-user")
    pg.wait_for_selector("#new-user-msg.msg-ok")
    assert "sj_" in pg.inner_text("#new-user-msg")     # its API token, shown once
    row = pg.locator('#user-table tr[data-user="zhang_san"]')
    expect(row).to_contain_text("张三")
    expect(row).to_contain_text("行政审批服务局")
    expect(row).to_contain_text("已设置")
    shot(pg, "admin-users.png")
    # edit: a new display name and the supervisor flag
    row.locator("button.edit").click()
    pg.fill("#edit-display-name", "张三（科长）")
    pg.check("#edit-dept_supervisor")
    pg.click("#save-user")
    pg.wait_for_selector("#edit-msg.msg-ok")
    expect(row).to_contain_text("张三（科长）")
    expect(row).to_contain_text("部门负责人")
    shot(pg, "admin-edit.png")
    users = {u["username"]: u for u in live.ok(live.get("/api/admin/users", "admin"))["items"]}
    assert users["zhang_san"]["roles"] == ["approval_bureau", "dept_supervisor"]
    clean(pg, expected_status=(422,))

    # the new user logs in on the page with the password: a wrong one is refused in Chinese
    pg.evaluate("sessionStorage.clear()")
    pg.goto(live.base_url + "/inbox")
    pg.wait_for_selector("#login #username")
    assert pg.locator("#bell").count() == 0 and pg.locator('#nav a[href="/admin"]').count() == 0
    pg.fill("#username", "zhang_san")
    pg.fill("#password", "wrong password!")
    pg.click("#login button[type=submit]")
    pg.wait_for_selector("#login-msg.login-error")
    assert "用户名或密码错误" in pg.inner_text("#login-msg")
    shot(pg, "login-refused.png")
    pg.fill("#password", PW)
    pg.click("#login button[type=submit]")
    pg.wait_for_selector("#whoami")
    assert "张三（科长）" in pg.inner_text("#whoami") and "zhang_san" in pg.inner_text("#whoami")
    pg.wait_for_selector("#task-table, #no-tasks")
    assert pg.locator('#nav a[href="/admin"]').count() == 0
    token = pg.evaluate("sessionStorage.getItem('siji.token')")
    assert live.client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    shot(pg, "login-inbox.png")
    # logging out revokes the session token
    pg.click("#logout")
    pg.wait_for_selector("#login #username")
    assert live.client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    # the refused password (422) and the refused login (401) are the only errors: the page handles them
    assert [e for e in pg.errors if "status of 401" not in e and "status of 422" not in e] == []
    unexpected = [f for f in pg.failed if not f.endswith((": 401", ": 422"))]
    assert not unexpected, "\n".join(unexpected)
    assert len([f for f in pg.failed if "/api/login" in f]) == 1
