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
    for user, path in (("auditor", "/api/process-instances"), ("bureau", "/api/process-instances"),
                       ("ent_a", "/api/process-instances?status=running"), ("bureau", "/api/tasks"),
                       ("auditor", "/api/tasks")):
        body = siji.ok(siji.get(path, user))
        assert (body["total"], body["total_exact"]) == (2, False), (user, path, body)
        assert len(body["items"]) >= 3      # the cap bounds the count, never the page
    body = siji.ok(siji.get(f"/api/tasks?process_instance_id={five_cases[0]}", "bureau"))
    assert (body["total"], body["total_exact"]) == (1, True)


def test_case_list_pages_through_every_visible_case_once(siji, five_cases):
    newest_first = sorted(five_cases, reverse=True)
    # the department sees the five through its tasks; each enterprise its own
    for user, expected in (("bureau", newest_first), ("ent_a", newest_first[2:]), ("ent_b", newest_first[:2]),
                           ("fire", [])):
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
