"""The workbench pages in a real browser (issue 15): API docs, the department inbox with its
filters and paging, supervisor actions and comments. Same live server and Chromium as
tests/test_pages.py; every page load is checked for console errors and failed requests, and
screenshots go to test-artifacts/pages/."""

from __future__ import annotations

from datetime import timedelta

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails under SIJI_REQUIRE_BROWSER) with the reason
    expect = None

from test_pages import CHROMIUM_ARGS, TIMEOUT_MS, USCC_A, browser, case_at_reviews, live, login, real_errors, shot  # noqa: F401


@pytest.fixture
def page(browser, live):  # noqa: F811
    """A page that also records every failed request and every answer >= 400 it did not expect."""
    context = browser.new_context(
        viewport={"width": 1440, "height": 900}, locale="zh-CN", timezone_id="Asia/Shanghai", accept_downloads=True
    )
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    failed: list[str] = []
    pg.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    pg.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    # A fetch still in flight when the test clicks a link is cancelled by the browser
    # (net::ERR_ABORTED): the page left, nothing failed. Every other failure counts.
    pg.on(
        "requestfailed",
        lambda r: failed.append(f"{r.method} {r.url}: {r.failure}") if "ERR_ABORTED" not in (r.failure or "") else None,
    )
    pg.on("response", lambda r: failed.append(f"{r.request.method} {r.url}: {r.status}") if r.status >= 400 else None)
    pg.errors = errors
    pg.failed = failed
    yield pg
    context.close()


def rows_are(pg, n: int) -> None:
    expect(pg.locator("#task-table tbody tr")).to_have_count(n)


def clean(pg, expected_status: tuple[int, ...] = ()) -> None:
    """No console error and no failed request on the page (bar the answers a step expects)."""
    assert not real_errors(pg), real_errors(pg)
    bad = [f for f in pg.failed if not any(f.endswith(f": {c}") for c in expected_status)]
    assert not bad, bad


# ------------------------------------------------------------------ API docs
def test_api_docs_render_swagger_ui_offline(page, live):
    pg = page
    external: list[str] = []
    pg.on(
        "request",
        lambda r: (
            external.append(r.url) if not r.url.startswith(live.base_url) and not r.url.startswith("data:") else None
        ),
    )
    pg.goto(live.base_url + "/api/docs")
    pg.wait_for_selector("#swagger-ui .opblock-tag-section")
    pg.wait_for_selector('#swagger-ui .opblock-summary-path[data-path="/api/tasks"]')
    assert "四即" in pg.inner_text("#swagger-ui .info")
    assert pg.locator("#swagger-ui .opblock").count() > 20
    shot(pg, "api-docs.png")
    assert not external, external
    clean(pg)


# ------------------------------------------------------------------ department inbox
def _names(live):
    from sqlalchemy import update

    from engine.store.models import User

    with live.service.db.write() as s:
        s.execute(update(User).where(User.username == "ent_a").values(enterprise_name="济宁甲建设有限公司"))
        s.execute(update(User).where(User.username == "ent_b").values(enterprise_name="乙科技公司"))
        s.execute(update(User).where(User.username == "bureau").values(display_name="张审批"))


def _mini(live, user, bk):
    return live.start("mini", user, {"enterprise_name": "x", "credit_code": USCC_A}, business_key=bk)["id"]


def test_inbox_columns_search_filters_and_paging(page, live):
    pg = page
    _names(live)
    early = _mini(live, "ent_a", "INB-EARLY")
    live.clock.advance(timedelta(days=2))
    soon = _mini(live, "ent_b", "INB-SOON")
    live.clock.advance(timedelta(hours=1))
    many = []
    for i in range(21):
        many.append(_mini(live, "ent_a", f"INB-BULK-{i:02d}"))
        live.clock.advance(timedelta(minutes=1))
    live.clock.advance(timedelta(days=2, hours=6))  # early is overdue, soon is due within a day
    task_soon = live.task_for("bureau", soon, "Task_Review")
    live.ok(live.post(f"/api/tasks/{task_soon['id']}/claim", "bureau"))

    login(pg, live, "bureau", "/inbox")
    pg.wait_for_selector("#task-table tbody tr")
    heads = pg.eval_on_selector_all("#task-table thead th", "els => els.map(e => e.textContent)")
    assert heads[:6] == ["期限", "任务", "流程", "案件 / 业务编号", "企业", "认领人"]
    first = pg.locator("#task-table tbody tr").first
    assert f"#{early}" in first.inner_text() and "已逾期" in first.inner_text()
    assert "INB-EARLY" in first.inner_text() and "济宁甲建设有限公司" in first.inner_text()
    assert "测试流程" in first.inner_text()
    row_soon = pg.locator("#task-table tbody tr", has=pg.locator(f'a[href="/case/{soon}"]'))
    assert "即将到期" in row_soon.inner_text() and "张审批" in row_soon.inner_text()
    assert "bureau" not in row_soon.locator("td").nth(5).inner_text()  # the display name, not the login
    # real paging: 23 tasks, 20 a page
    assert pg.locator("#task-table tbody tr").count() == 20
    assert "共 23 项" in pg.inner_text("#task-count") and "第 1 / 2 页" in pg.inner_text("#page-info")
    shot(pg, "inbox-list.png")
    pg.click("#page-next")
    pg.wait_for_selector("#page-info:has-text('第 2 / 2 页')")
    assert pg.locator("#task-table tbody tr").count() == 3
    pg.click("#page-prev")
    pg.wait_for_selector("#page-info:has-text('第 1 / 2 页')")

    # search by business key, then by enterprise name
    pg.fill("#task-search", "inb-soon")
    pg.wait_for_selector("#page-info:has-text('第 1 / 1 页')")
    rows_are(pg, 1)
    assert f"#{soon}" in pg.inner_text("#task-table tbody")
    pg.fill("#task-search", "乙科技")
    rows_are(pg, 1)
    pg.fill("#task-search", "")
    rows_are(pg, 20)
    # filters: due window, claimant, flow, sort
    pg.select_option("#due-filter", "overdue")
    rows_are(pg, 1)
    assert f"#{early}" in pg.inner_text("#task-table tbody")
    shot(pg, "inbox-overdue-filter.png")
    pg.select_option("#due-filter", "")
    pg.select_option("#claim-filter", "me")
    rows_are(pg, 1)
    assert f"#{soon}" in pg.inner_text("#task-table tbody")
    pg.select_option("#claim-filter", "none")
    pg.wait_for_selector("#task-count:has-text('共 22 项')")
    pg.select_option("#claim-filter", "")
    pg.select_option("#sort-filter", "-created")
    expect(pg.locator("#task-table tbody tr").first).to_contain_text(f"#{many[-1]}")
    assert "sort=-created" in pg.url
    pg.select_option("#flow-filter", PROCESS_NONE := "completion_acceptance")
    pg.wait_for_selector("#no-tasks")
    assert "没有符合条件" in pg.inner_text("#no-tasks") and PROCESS_NONE in pg.url
    # the filters survive a reload (kept in the address)
    pg.reload()
    pg.wait_for_selector("#no-tasks")
    assert pg.locator("#flow-filter").input_value() == "completion_acceptance"
    clean(pg)


# ------------------------------------------------------------------ supervisor actions, comments
def test_supervisor_reassigns_and_releases_clerk_delegates_and_comments(page, live):
    pg = page
    for name, roles in (("bureau2", ["approval_bureau"]), ("bureau_boss", ["approval_bureau", "dept_supervisor"])):
        if name not in live.tokens:
            live.add_user(name, roles)
    iid = _mini(live, "ent_a", "SUP-1")
    tid = live.task_for("bureau", iid, "Task_Review")["id"]
    live.ok(live.post(f"/api/tasks/{tid}/claim", "bureau"))

    login(pg, live, "bureau_boss", f"/inbox?task={tid}")
    pg.wait_for_selector("#handover #reassign")
    assert "部门负责人" in pg.inner_text("#handover legend")
    pg.wait_for_selector('#handover-to option[value="bureau2"]', state="attached")
    pg.select_option("#handover-to", "bureau2")
    pg.click("#reassign")  # no reason: asked for, nothing sent
    pg.wait_for_selector("#handover-msg.msg-error")
    assert "理由" in pg.inner_text("#handover-msg")
    pg.fill("#handover-reason", "原经办人休假，改由同事办理")
    shot(pg, "inbox-supervisor.png")
    pg.click("#reassign")
    pg.wait_for_selector("#task-msg.msg-ok:has-text('已改派')")
    assert live.ok(live.get(f"/api/tasks/{tid}", "bureau"))["assignee"] == "bureau2"
    pg.fill("#handover-reason", "久未办理，退回科室")
    pg.click("#release")
    pg.wait_for_selector("#task-msg.msg-ok:has-text('已收回')")
    assert live.ok(live.get(f"/api/tasks/{tid}", "bureau"))["assignee"] is None
    clean(pg, expected_status=(422,))

    # the clerk claims it and delegates it to a colleague
    live.ok(live.post(f"/api/tasks/{tid}/claim", "bureau"))
    pg.evaluate("sessionStorage.clear()")
    login(pg, live, "bureau", f"/inbox?task={tid}")
    pg.wait_for_selector("#handover #delegate")
    assert pg.locator("#handover #reassign").count() == 0
    pg.wait_for_selector('#handover-to option[value="bureau2"]', state="attached")
    pg.select_option("#handover-to", "bureau2")
    pg.fill("#handover-reason", "出差，请代为审查")
    pg.click("#delegate")
    pg.wait_for_selector("#task-msg.msg-ok:has-text('已委托')")
    assert live.ok(live.get(f"/api/tasks/{tid}", "bureau"))["assignee"] == "bureau2"

    # a comment on the case, shown in the case view's comments and its timeline
    pg.goto(f"{live.base_url}/case/{iid}")
    pg.wait_for_selector("#comment-text")
    pg.fill("#comment-text", "已电话联系企业补充材料")
    pg.click("#comment-send")
    pg.wait_for_selector("#comments li:has-text('已电话联系企业补充材料')")
    pg.wait_for_selector("#timeline li.t-comment")
    for t in ("改派", "收回", "委托", "留言"):
        assert pg.locator("#timeline li .what", has_text=t).count() >= 1, t
    assert "测试流程" in pg.inner_text("#case-flow")  # the flow's name, not its key
    shot(pg, "case-comments.png")
    trace = live.ok(live.get(f"/api/process-instances/{iid}/trace?format=json", "auditor"))["events"]
    reasons = [e["data"].get("reason") for e in trace if e["transition"] in ("reassign", "release", "delegate")]
    assert reasons == ["原经办人休假，改由同事办理", "久未办理，退回科室", "出差，请代为审查"]
    clean(pg, expected_status=(422,))
