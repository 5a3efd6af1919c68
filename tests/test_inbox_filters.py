"""GET /api/tasks: search by business key or enterprise name, filters by flow, due window and
claimant, sort orders, real paging, and the context each row carries (business key, enterprise,
flow name, claimant's display name, 即将到期). Both backends."""

from __future__ import annotations

from datetime import timedelta

from conftest import DATA
from sqlalchemy import update
from test_pages import USCC_A

from engine.store.models import User


def _setup(h):
    h.deploy_paths(DATA / "mini")
    with h.service.db.write() as s:
        s.execute(update(User).where(User.username == "ent_a").values(enterprise_name="济宁甲建设有限公司"))
        s.execute(update(User).where(User.username == "ent_b").values(enterprise_name="乙科技公司"))
        s.execute(update(User).where(User.username == "bureau").values(display_name="张审批"))
    v = {"enterprise_name": "x", "credit_code": USCC_A}
    one = h.start("mini", "ent_a", v, business_key="BK-001")["id"]  # due T0+3d
    h.clock.advance(timedelta(days=2))
    two = h.start("mini", "ent_b", v, business_key="BK-002")["id"]  # due T0+5d
    h.clock.advance(timedelta(hours=12))
    three = h.start("mini", "ent_a", v, business_key="XY_9%")["id"]  # due T0+5.5d
    h.clock.advance(timedelta(days=1, hours=18))  # now T0+4.25d
    return one, two, three


def _cases(h, user="bureau", **params):
    return [t["process_instance_id"] for t in h.inbox(user, **params)]


def test_inbox_search_filters_sort_and_context(siji):
    h = siji
    one, two, three = _setup(h)
    task_two = h.task_for("bureau", two, "Task_Review")
    h.ok(h.post(f"/api/tasks/{task_two['id']}/claim", "bureau"))

    assert _cases(h) == [one, two, three]  # by due time
    assert _cases(h, sort="-created") == [three, two, one]
    assert _cases(h, sort="-due") == [three, two, one]
    assert _cases(h, q="bk-00") == [one, two]  # business key, any case
    assert _cases(h, q="甲建设") == [one, three]  # enterprise name
    assert _cases(h, q="Y_9%") == [three]  # LIKE wildcards taken literally
    assert _cases(h, q="_") == [three]
    assert _cases(h, q="nothing") == []
    assert _cases(h, due="overdue") == [one]
    assert _cases(h, due="soon") == [two]  # within a day (no reminder time)
    assert _cases(h, due="later") == [three]
    assert _cases(h, due="none") == []
    assert _cases(h, assignee="none") == [one, three]
    assert _cases(h, assignee="me") == [two]
    assert _cases(h, process_key="mini", q="BK", due="soon") == [two]
    assert _cases(h, process_key="other") == []
    assert _cases(h, role="approval_bureau", assignee="none", sort="-created") == [three, one]

    rows = {t["process_instance_id"]: t for t in h.inbox("bureau")}
    assert rows[two]["business_key"] == "BK-002" and rows[two]["enterprise_name"] == "乙科技公司"
    assert rows[two]["process_name"] == "测试流程"
    assert rows[two]["assignee"] == "bureau" and rows[two]["assignee_name"] == "张审批"
    assert rows[two]["due_soon"] is True and rows[two]["overdue"] is False
    assert rows[one]["overdue"] is True and rows[one]["due_soon"] is False
    assert rows[three]["due_soon"] is False and rows[three]["assignee_name"] is None

    # the row rule holds under every filter: another department finds nothing
    assert _cases(h, "fire", q="BK") == [] and _cases(h, "fire", due="overdue") == []
    assert _cases(h, "auditor", q="BK") == [one, two]  # auditors read every inbox


def test_inbox_pages_past_any_cap(siji):
    h = siji
    one, two, three = _setup(h)
    seen = []
    for page in (1, 2):
        body = h.ok(h.get(f"/api/tasks?per_page=2&page={page}&sort=due&q=", "bureau"))
        assert body["total"] == 3 and body["total_exact"] is True
        seen += [t["process_instance_id"] for t in body["items"]]
    assert seen == [one, two, three]
    body = h.ok(h.get("/api/tasks?per_page=1&page=2&due=soon", "bureau"))
    assert body["items"] == [] and body["total"] == 1  # past the end: the count still runs
    body = h.ok(h.get("/api/tasks?per_page=1&page=2&sort=-due", "bureau"))
    assert [t["process_instance_id"] for t in body["items"]] == [two] and body["total"] == 3


def test_inbox_filter_values_refused_by_field(siji):
    h = siji
    for q, field in (
        ("due=tomorrow", "due"),
        ("sort=name", "sort"),
        ("assignee=bob", "assignee"),
        ("q=" + "x" * 201, "q"),
    ):
        resp = h.get(f"/api/tasks?{q}", "bureau")
        assert resp.status_code == 422 and field in resp.get_json()["fields"], q
