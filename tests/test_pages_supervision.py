"""The workbench pages of issue 15, second part, in a real browser: the notifications bell, login
with a username and password, the admin page, the supervision dashboard (督办), the case list.
Same live server and Chromium as tests/test_pages.py; every page load is checked for console
errors and failed requests, and screenshots go to test-artifacts/pages/."""

from __future__ import annotations

from datetime import datetime, timedelta

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips (or fails under SIJI_REQUIRE_BROWSER) with the reason
    expect = None

from test_pages import USCC_A, browser, case_at_reviews, live, login, shot  # noqa: F401
from test_pages_workbench import clean, page  # noqa: F401

from engine import roles


def _mini(live, user, bk):
    return live.start("mini", user, {"enterprise_name": "x", "credit_code": USCC_A}, business_key=bk)["id"]


def _unread(live, user) -> int:
    return live.ok(live.get("/api/notifications?unread=true&per_page=1", user))["unread"]


# ------------------------------------------------------------------ notifications bell
def test_bell_counts_lists_links_and_marks_read(page, live):
    pg = page
    live.add_user("fire_boss", ["fire_rescue"])  # nothing for the fire brigade yet
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
    kinds = [
        n["kind"] for n in live.ok(live.get("/api/notifications?per_page=100", "fire"))["items"] if n["task_id"] == tid
    ]
    assert sorted(kinds) == ["overdue", "reminder", "task_created"], kinds
    pg.evaluate("sessionStorage.clear()")
    login(pg, live, "fire", "/inbox")
    expect(pg.locator("#bell-count")).to_have_text(str(unread))
    pg.click("#bell")
    pg.wait_for_selector("#bell-list li.unread")
    mine = pg.locator("#bell-list li", has=pg.locator(f'a[href="/inbox?task={tid}"]'))
    expect(mine).to_have_count(3)
    assert mine.locator(".badge").all_inner_texts() == ["已逾期", "即将到期", "新待办"]  # newest first
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
    pg.click("#create-user")  # too short: the server names the field, nothing made
    pg.wait_for_selector("#new-user-msg.msg-error")
    assert "密码" in pg.inner_text("#new-user-msg")
    assert pg.locator('#user-table tr[data-user="zhang_san"]').count() == 0
    pg.fill("#new-password", PW)
    pg.click("#create-user")
    pg.wait_for_selector("#new-user-msg.msg-ok")
    assert "sj_" in pg.inner_text("#new-user-msg")  # its API token, shown once
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


# ------------------------------------------------------------------ supervision dashboard
def _num(text: str):
    text = text.strip().rstrip("%")
    return None if text == "—" else float(text)


def _near(text: str, value, places: int) -> bool:
    """A cell shows the API's value rounded to `places` decimals (or — for none)."""
    if value is None:
        return text.strip() == "—"
    shown = text.strip().rstrip("%")
    return len(shown.split(".")[-1]) == places and abs(float(shown) - value) <= 0.5 * 10**-places + 1e-9


def _check_activities(pg, flow: dict) -> None:
    """The flow's section of the 环节等待与办理 panel: one row per activity in the API's order, every
    figure the API's, the department by its Chinese name, a bar per finished activity."""
    key = flow["process_key"]
    section = pg.locator(f'#activities section[data-flow="{key}"]')
    expect(section).to_have_count(1)
    expect(section.locator("h3")).to_contain_text(flow["process_name"])
    acts = flow["activities"]
    done = [a for a in acts if a["completed"]]
    rows = section.locator("tr[data-activity]")
    if not done:
        expect(section.locator(".no-activity")).to_be_visible()
        expect(rows).to_have_count(0)
        return
    expect(rows).to_have_count(len(acts))
    assert [r.get_attribute("data-activity") for r in rows.all()] == [a["activity_id"] for a in acts]
    for a in acts:
        tr = section.locator(f'tr[data-flow="{key}"][data-activity="{a["activity_id"]}"]')

        def cell(k, tr=tr):
            return tr.locator(f'td[data-k="{k}"]').inner_text()

        assert cell("name") == a["name"]
        assert cell("role") == roles.role_name(a["role"]), a  # the department's name, not its code
        assert int(cell("completed")) == a["completed"] and int(cell("cancelled")) == a["cancelled"]
        for k, fig, stat in (
            ("wait_median", "waiting_hours", "median"),
            ("work_median", "working_hours", "median"),
            ("wait_p90", "waiting_hours", "p90"),
            ("work_p90", "working_hours", "p90"),
        ):
            assert _near(cell(k), a[fig][stat], 2), (key, a["activity_id"], k, cell(k), a[fig][stat])
        share = a["waiting_share"]
        assert _near(cell("waiting_share"), None if share is None else 100 * share, 1), (a, cell("waiting_share"))
    # the stacked bar: one category per finished activity, waiting and working in its legend
    chart = section.locator(".act-chart svg")
    expect(chart).to_have_count(1)
    for t in ("等待", "办理"):
        assert chart.locator("text", has_text=t).count() >= 1
    for a in done:
        if len(a["name"]) <= 8:  # longer names may be cut short on the axis (the tooltip has them whole)
            assert chart.locator("text", has_text=a["name"]).count() >= 1, a["name"]


def _check_dashboard(pg, live, query: str) -> dict:
    """Every figure of the department and flow tables and the overdue list equals the API's."""
    depts = live.ok(live.get(f"/api/reports/departments?{query}", "lgo"))
    flows = live.ok(live.get(f"/api/reports/flows?{query}", "lgo"))
    key = dict(p.split("=") for p in query.split("&") if p).get("process_key")
    late = live.ok(live.get("/api/reports/overdue" + (f"?process_key={key}" if key else ""), "lgo"))
    rows = [d for d in depts["departments"] if d["department"]]
    if not rows:
        expect(pg.locator("#no-depts")).to_be_visible()
    expect(pg.locator("#depts tbody tr")).to_have_count(len(rows))
    for d in rows:
        tr = pg.locator(f'#depts tr[data-role="{d["role"]}"]')

        def cell(k, tr=tr):
            return tr.locator(f'td[data-k="{k}"]').inner_text()

        assert cell("role_name") == d["role_name"]
        for k in ("completed", "on_time", "overdue", "no_deadline", "open", "open_overdue", "escalated"):
            assert int(cell(k)) == d[k], (d["role"], k)
        assert _num(cell("median")) == d["handling"]["hours"]["median"]
        assert _num(cell("p90")) == d["handling"]["hours"]["p90"]
        dated = d["on_time"] + d["overdue"]
        if dated:
            assert abs(_num(cell("rate")) - 100 * d["on_time"] / dated) < 0.051, d["role"]
        else:
            assert cell("rate") == "—"
    expect(pg.locator("#flows tbody tr")).to_have_count(len(flows["items"]))
    for f in flows["items"]:
        tr = pg.locator(f'#flows tr[data-key="{f["process_key"]}"]')
        for k in ("started", "running", "completed", "terminated", "rework_rounds"):
            assert int(tr.locator(f'td[data-k="{k}"]').inner_text()) == f[k], (f["process_key"], k)
        assert _num(tr.locator('td[data-k="median"]').inner_text()) == f["lead_time"]["hours"]["median"]
        assert _num(tr.locator('td[data-k="p90"]').inner_text()) == f["lead_time"]["hours"]["p90"]
        for k in ("median", "p90"):  # working days: 2 decimals below 10 days, 1 above
            wd = f["lead_time"]["workdays"][k]
            shown = tr.locator(f'td[data-k="wd_{k}"]').inner_text()
            assert _near(shown, wd, 2 if wd is None or wd < 10 else 1), (f["process_key"], k, shown, wd)
        _check_activities(pg, f)
    expect(pg.locator("#activities section.act-flow")).to_have_count(len(flows["items"]))
    if not flows["items"]:
        expect(pg.locator("#no-activities")).to_be_visible()
    assert pg.inner_text("#kpi-overdue .kpi-value") == str(late["total"])
    assert late["total"] == sum(d["open_overdue"] for d in rows)
    if late["total"]:
        expect(pg.locator("#overdue-table tbody tr")).to_have_count(min(20, late["total"]))
        first = late["items"][0]
        row = pg.locator(f'#overdue-table tr[data-task="{first["task_id"]}"]')
        assert row.locator(f'a[href="/case/{first["process_instance_id"]}"]').count() == 1
        assert first["role_name"] in row.inner_text() and first["name"] in row.inner_text()
    return depts


def test_supervision_dashboard_shows_the_reports_figures(page, live):
    pg = page
    if "lgo" not in live.tokens:
        live.add_user("lgo", ["leading_group_office"])
    # a mini case handled on time by the bureau, beside the overdue completion case of the bell test
    iid = _mini(live, "ent_b", "SV-ONTIME")
    live.advance(timedelta(hours=2))
    tid = live.task_for("bureau", iid, "Task_Review")["id"]
    live.ok(live.post(f"/api/tasks/{tid}/claim", "bureau"))
    live.advance(timedelta(hours=3))
    live.complete("bureau", iid, "Task_Review", {"complete": True})
    done_day = (live.clock.now() + timedelta(hours=8)).date().isoformat()  # China day
    if not live.ok(live.get("/api/reports/overdue", "lgo"))["total"]:
        case_at_reviews(live)
        live.clock.advance(timedelta(days=30))

    login(pg, live, "lgo", "/")
    pg.click('#nav a[href="/supervision"]')
    pg.wait_for_selector("#depts tbody tr")
    pg.wait_for_selector("#chart-ontime svg text")
    depts = _check_dashboard(pg, live, "")
    bureau = next(d for d in depts["departments"] if d["role"] == "approval_bureau")
    assert bureau["on_time"] >= 1
    assert "行政审批服务局" in pg.inner_text("#chart-ontime")  # the chart's axis, SVG text
    assert pg.locator("#chart-lead svg text", has_text="测试流程").count() >= 1
    shot(pg, "supervision.png")
    headers = pg.locator("#flows thead th").all_inner_texts()
    assert "办理周期中位数（工作日）" in headers and "P90（工作日）" in headers and "P90（小时）" in headers
    flows = live.ok(live.get("/api/reports/flows", "lgo"))["items"]
    mini = next(f for f in flows if f["process_key"] == "mini")
    assert mini["lead_time"]["workdays"]["median"] is not None  # finished cases: a figure, not —
    # the bureau's review waited 2 hours for its claim and was worked on for 3
    review = next(a for a in mini["activities"] if a["activity_id"] == "Task_Review")
    assert (review["waiting_hours"]["median"], review["working_hours"]["median"]) == (2.0, 3.0)
    row = pg.locator('#activities tr[data-flow="mini"][data-activity="Task_Review"]')
    assert row.locator('td[data-k="wait_median"]').inner_text() == "2.00"
    assert row.locator('td[data-k="work_median"]').inner_text() == "3.00"
    assert row.locator('td[data-k="waiting_share"]').inner_text() == "40.0%"
    assert row.locator('td[data-k="role"]').inner_text() == "行政审批服务局"
    pg.evaluate("document.querySelector('#activities-title').scrollIntoView()")
    # the bar's tooltip names the activity with its mean waiting and working hours
    mini_chart = pg.locator('#activities section[data-flow="mini"] .act-chart .chart')
    box = mini_chart.bounding_box()
    mini_chart.hover(position={"x": box["width"] * 0.6, "y": box["height"] / 2})
    tip = pg.locator('#activities section[data-flow="mini"] .act-chart', has_text="平均等待 2.00 小时")
    expect(tip).to_contain_text("平均办理 3.00 小时")
    expect(tip).to_contain_text("等待占比 40.0%（1 件）")
    shot(pg, "supervision-activities.png")
    pg.locator("#overdue").scroll_into_view_if_needed()
    shot(pg, "supervision-overdue.png")

    # one flow: the page asks the API for that flow and shows its figures
    pg.select_option("#flow", "mini")
    pg.wait_for_url("**process_key=mini**")
    expect(pg.locator("#depts tbody tr")).to_have_count(
        len(
            [
                d
                for d in live.ok(live.get("/api/reports/departments?process_key=mini", "lgo"))["departments"]
                if d["department"]
            ]
        )
    )
    _check_dashboard(pg, live, "process_key=mini")
    expect(pg.locator("#activities section.act-flow")).to_have_count(1)  # that flow's activities only
    pg.evaluate("document.querySelector('#activities-title').scrollIntoView()")
    shot(pg, "supervision-activities-mini.png")
    assert pg.locator("#no-overdue").count() == 1 or pg.locator("#overdue-table").count() == 1
    # a custom period (China days, `to` inclusive)
    pg.select_option("#period", "custom")
    day = done_day
    pg.fill("#from", day)
    pg.fill("#to", day)
    pg.locator("#to").dispatch_event("change")
    pg.wait_for_url(f"**to={day}**")
    expect(pg.locator("#window")).to_contain_text(day)
    win = _check_dashboard(pg, live, f"from={day}&to={day}&process_key=mini")
    assert next(d for d in win["departments"] if d["role"] == "approval_bureau")["on_time"] >= 1
    shot(pg, "supervision-filtered.png")
    # a period without cases: no flow, the panel says so
    pg.fill("#from", "2001-01-01")
    pg.fill("#to", "2001-01-02")
    pg.locator("#to").dispatch_event("change")
    pg.wait_for_url("**to=2001-01-02**")
    expect(pg.locator("#no-activities")).to_be_visible()
    _check_dashboard(pg, live, "from=2001-01-01&to=2001-01-02&process_key=mini")
    pg.fill("#from", day)
    pg.fill("#to", day)
    pg.locator("#to").dispatch_event("change")
    pg.wait_for_url(f"**to={day}**")
    expect(pg.locator('#activities section[data-flow="mini"]')).to_have_count(1)
    # the filters survive a reload
    pg.reload()
    pg.wait_for_selector("#depts tbody tr, #no-depts")
    assert pg.locator("#flow").input_value() == "mini" and pg.locator("#period").input_value() == "custom"
    clean(pg)
    # a department clerk is told the dashboard is not for it (and makes no refused call)
    pg.evaluate("sessionStorage.clear()")
    login(pg, live, "bureau", "/supervision")
    pg.wait_for_selector("#supervision .msg-error")
    assert pg.locator('#nav a[href="/supervision"]').count() == 0
    clean(pg)
