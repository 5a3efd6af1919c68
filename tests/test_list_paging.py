"""Paged lists: counts capped (``total_exact``), and a caller's case list merged from several
visibility rules (own cases, cases with a task for the caller's department) paged without gaps
or repeats, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from test_api_core import GOOD_START, MINI


@pytest.fixture
def five_cases(siji):
    siji.deploy_paths(MINI)
    ids = [siji.start("mini", "ent_a", GOOD_START)["id"] for _ in range(3)]
    ids += [siji.start("mini", "ent_b", GOOD_START)["id"] for _ in range(2)]
    return ids


def _pages(siji, user, path, per_page):
    seen, page = [], 1
    while True:
        body = siji.ok(siji.get(f"{path}{'&' if '?' in path else '?'}per_page={per_page}&page={page}", user))
        if not body["items"]:
            return seen, body
        seen += [i["id"] for i in body["items"]]
        page += 1


def test_counts_are_exact_below_the_cap_and_capped_above(siji, five_cases, monkeypatch):
    body = siji.ok(siji.get("/api/process-instances", "auditor"))
    assert (body["total"], body["total_exact"]) == (5, True)
    body = siji.ok(siji.get("/api/tasks", "bureau"))
    assert (body["total"], body["total_exact"]) == (5, True)

    import api.routes.common as common

    monkeypatch.setattr(common, "COUNT_CAP", 2)
    for user, path, n in (
        ("auditor", "/api/process-instances", 5),
        ("bureau", "/api/process-instances", 5),
        ("ent_a", "/api/process-instances?status=running", 3),
        ("bureau", "/api/tasks", 5),
        ("auditor", "/api/tasks", 5),
    ):
        sep = "&" if "?" in path else "?"
        # a full page needs the count, which stops at the cap; the cap bounds the count, never the page
        body = siji.ok(siji.get(f"{path}{sep}per_page=3", user))
        assert (body["total"], body["total_exact"], len(body["items"])) == (2, False, 3), (user, path, body)
        # so does a page past the end
        body = siji.ok(siji.get(f"{path}{sep}per_page=3&page=9", user))
        assert (body["total"], body["total_exact"], body["items"]) == (2, False, []), (user, path, body)
        # a page that is not full ends the list: its total is exact, beyond the cap too
        for per_page, page in ((20, 1), (n - 1, 2), (2, (n + 1) // 2)):
            if n % per_page == 0 and page > 1:
                continue
            body = siji.ok(siji.get(f"{path}{sep}per_page={per_page}&page={page}", user))
            assert (body["total"], body["total_exact"]) == (n, True), (user, path, per_page, page, body)
    body = siji.ok(siji.get(f"/api/tasks?process_instance_id={five_cases[0]}", "bureau"))
    assert (body["total"], body["total_exact"]) == (1, True)


def test_case_list_pages_through_every_visible_case_once(siji, five_cases):
    newest_first = sorted(five_cases, reverse=True)
    # the department sees the five through its tasks; each enterprise its own
    for user, expected in (
        ("bureau", newest_first),
        ("ent_a", newest_first[2:]),
        ("ent_b", newest_first[:2]),
        ("fire", []),
    ):
        for per_page in (1, 2, 50):
            seen, _ = _pages(siji, user, "/api/process-instances", per_page)
            assert seen == expected, (user, per_page, seen)

    # filtered: a completed case leaves "running" and shows under "completed"
    done = five_cases[1]
    siji.complete("bureau", done, "Task_Review", {"complete": True})
    assert siji.instance(done)["status"] == "completed"
    running, _ = _pages(siji, "bureau", "/api/process-instances?status=running", 2)
    assert running == [i for i in newest_first if i != done]
    completed, body = _pages(siji, "bureau", "/api/process-instances?status=completed", 2)
    assert completed == [done]
    mine, _ = _pages(siji, "ent_a", "/api/process-instances?status=completed", 1)
    assert mine == [done]
    assert _pages(siji, "ent_b", "/api/process-instances?status=completed", 1)[0] == []


def test_timer_list_totals_agree_on_every_page(siji, five_cases):
    """Lists without a count cap: a full page counts, a short page is the end of the list."""
    seen = []
    for page in (1, 2, 3, 4):
        body = siji.ok(siji.get(f"/api/timers?status=waiting&per_page=2&page={page}", "auditor"))
        assert body["total"] == 5, (page, body)
        seen += [t["process_instance_id"] for t in body["items"]]
    assert sorted(seen) == sorted(five_cases)
    body = siji.ok(siji.get("/api/timers?status=waiting&per_page=5", "auditor"))
    assert (body["total"], len(body["items"])) == (5, 5)


def test_one_cases_tasks_page_in_inbox_order(siji):
    """Filtered by case the inbox reads the case's tasks whole and pages them itself (the
    ordered read walked a department's whole inbox index); paging and order must not change."""
    from pathlib import Path

    siji.deploy_paths(Path(__file__).parent / "data" / "bench")
    case = siji.start("bench28", "ent_a")["id"]
    other = siji.start("bench28", "ent_b")["id"]
    for iid in (case, other):
        siji.complete("bureau", iid, "Task_Accept", {"accepted": True})

    whole = siji.ok(siji.get(f"/api/tasks?process_instance_id={case}&per_page=50", "auditor"))
    assert whole["total"] == 5 and {t["process_instance_id"] for t in whole["items"]} == {case}
    keys = [(t["due_at"] is None, t["due_at"] or "", t["created_at"]) for t in whole["items"]]
    assert keys == sorted(keys)
    ids = [t["id"] for t in whole["items"]]
    paged = []
    for page in (1, 2, 3, 4):
        body = siji.ok(siji.get(f"/api/tasks?process_instance_id={case}&per_page=2&page={page}", "auditor"))
        assert (body["total"], body["total_exact"]) == (5, True)
        paged += [t["id"] for t in body["items"]]
    assert paged == ids

    # a department sees its own task of the case only
    mine = siji.ok(siji.get(f"/api/tasks?process_instance_id={case}", "fire"))
    assert [t["id"] for t in mine["items"]] == [t["id"] for t in whole["items"] if t["role"] == "fire_rescue"]

    # the caller's claimed tasks, open and then all states
    tid = mine["items"][0]["id"]
    siji.ok(siji.post(f"/api/tasks/{tid}/claim", "fire"))
    claimed = siji.ok(siji.get("/api/tasks?assignee=me", "fire"))
    assert [t["id"] for t in claimed["items"]] == [tid] and claimed["total"] == 1
    siji.ok(siji.post(f"/api/tasks/{tid}/complete", "fire", json={"data": {"review0": True}}))
    assert siji.ok(siji.get("/api/tasks?assignee=me", "fire"))["items"] == []
    done = siji.ok(siji.get("/api/tasks?assignee=me&state=all", "fire"))
    assert [(t["id"], t["state"]) for t in done["items"]] == [(tid, "completed")]
