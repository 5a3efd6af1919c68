"""Shared helpers for the flow scenario tests (tests/test_flow_*.py).

Everything goes through the HTTP API of the `siji` harness (tests/conftest.py): the diagrams and
forms of the repository are deployed as an analyst, each participant acts with its own token, and
deadlines are reached by moving the injected clock (`siji.advance`), never by sleeping.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHINA = timezone(timedelta(hours=8))


# ---------------------------------------------------------------- deployment and users
def flow_files(key: str, catalogue: dict | None = None, with_catalogue: bool = False) -> dict[str, bytes]:
    """The files of one flow as the analyst uploads them: the diagram, its settings, its forms and
    (when the flow uses it, or a test-specific one is given) the permit catalogue."""
    files = {f"{key}.bpmn": (ROOT / "bpmn" / f"{key}.bpmn").read_bytes()}
    settings = ROOT / "bpmn" / f"{key}.settings.json"
    if settings.exists():
        files[f"{key}.settings.json"] = settings.read_bytes()
    if catalogue is not None:
        files["catalogue.json"] = json.dumps(catalogue, ensure_ascii=False).encode("utf-8")
    elif with_catalogue:
        files["catalogue.json"] = (ROOT / "bpmn" / "catalogue.json").read_bytes()
    for form in sorted((ROOT / "forms" / key).glob("*.form")):
        files[f"forms/{key}/{form.name}"] = form.read_bytes()
    return files


def deploy_flow(siji, key: str, **kw) -> dict:
    """Deploy one flow through POST /api/deployments (as the analyst); returns the answer."""
    resp = siji.deploy_files(flow_files(key, **kw))
    body = siji.ok(resp, 201)
    assert [v["key"] for v in body["versions"]] == [key], body
    return body


def add_users(siji, users: dict[str, list[str]], pairs: dict[str, list[str]] | None = None) -> None:
    """Create the participants (username → roles) that the base harness does not have."""
    for name, roles in users.items():
        if name not in siji.tokens:
            siji.add_user(name, roles, pair_with=(pairs or {}).get(name))


# ---------------------------------------------------------------- time
def now_cn(siji) -> datetime:
    return siji.clock.now().astimezone(CHINA)


def today(siji) -> str:
    """Today's China-local date (YYYY-MM-DD) on the injected clock, for the forms' date fields."""
    return now_cn(siji).date().isoformat()


def parse_utc(text: str) -> datetime:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert dt.tzinfo is not None, f"timestamp without a zone: {text!r}"
    return dt.astimezone(UTC)


def end_of_china_day(day: str) -> datetime:
    """23:59:59 China time of a China-local date, in UTC (how working-day deadlines are stored)."""
    d = datetime.fromisoformat(day).replace(hour=23, minute=59, second=59, tzinfo=CHINA)
    return d.astimezone(UTC)


# ---------------------------------------------------------------- who sees what
def inboxes(siji, instance_id: int, users) -> dict[str, set[str]]:
    """For each user, the activity ids of this case's open tasks in that user's own inbox."""
    return {u: {t["activity_id"] for t in siji.inbox(u, process_instance_id=instance_id)} for u in users}


def assert_inboxes(siji, instance_id: int, users, expected: dict[str, set[str]]) -> None:
    """Every listed user's inbox for this case is exactly `expected[user]` (empty when absent)."""
    got = inboxes(siji, instance_id, users)
    want = {u: set(expected.get(u, set())) for u in users}
    assert got == want, f"inboxes differ:\n got  {got}\n want {want}"


def open_tasks(siji, instance_id: int) -> dict[str, dict]:
    """The case's open tasks as the auditor sees them, by activity id."""
    tasks = [t for t in siji.instance(instance_id)["tasks"] if t["state"] == "open"]
    by_activity = {t["activity_id"]: t for t in tasks}
    assert len(by_activity) == len(tasks), f"two open tasks for one activity: {tasks}"
    return by_activity


def do(siji, user: str, instance_id: int, activity_id: str, data: dict, *, role: str, hidden_from=()) -> dict:
    """`user` finds the task in its own inbox, checks its role, and completes it with `data`.
    Users in `hidden_from` must not see it (in their inbox, by id, or by completing it)."""
    task = siji.task_for(user, instance_id, activity_id)
    assert task["role"] == role, (activity_id, task["role"], role)
    for other in hidden_from:
        assert activity_id not in {t["activity_id"] for t in siji.inbox(other, process_instance_id=instance_id)}, (
            f"{other} sees {activity_id}"
        )
        assert siji.get(f"/api/tasks/{task['id']}", other).status_code == 404, f"{other} reads {activity_id}"
        resp = siji.post(f"/api/tasks/{task['id']}/complete", other, json={"data": data})
        assert resp.status_code == 404, f"{other} completes {activity_id}: {resp.status_code}"
    siji.check_ready_data(task["id"])
    assert_readonly_filled(siji, user, task["id"])
    siji.ok(siji.post(f"/api/tasks/{task['id']}/complete", user, json={"data": data}))
    siji.check_index_columns(instance_id)
    return task


def readonly_keys(form: dict | None) -> list[str]:
    """The keys of a form's read-only fields that are always shown (no form-js conditional)."""
    out = []
    stack = list((form or {}).get("components", []))
    while stack:
        c = stack.pop(0)
        stack.extend(c.get("components", []))
        if c.get("readonly") is True and c.get("key") and not c.get("conditional"):
            out.append(c["key"])
    return out


def assert_readonly_filled(siji, user: str, task_id: str) -> dict:
    """A read-only field shows the case's data: every one the task's form always shows has a value
    in the data the task starts with (GET /api/tasks/{id})."""
    body = siji.ok(siji.get(f"/api/tasks/{task_id}", user))
    empty = [k for k in readonly_keys(body["form"]) if body["data"].get(k) in (None, "", [])]
    assert not empty, f"{body.get('activity_id', task_id)}: read-only fields without case data: {empty}"
    return body


def run(siji, instance_id: int, steps) -> None:
    """Complete a list of (user, activity_id, role, data) steps in order."""
    for user, activity_id, role, data in steps:
        do(siji, user, instance_id, activity_id, data, role=role)


def completed_by(siji, instance_id: int) -> list[tuple[str, str, str]]:
    """(activity, role, completing user) of every completed task, in completion order: the audit
    trail's `complete` events, each checked against the task row the case view reports."""
    rows = {t["id"]: t for t in siji.instance(instance_id)["tasks"]}
    out = []
    for e in http_trace(siji, instance_id):
        if e["transition"] != "complete":
            continue
        row = rows[e["task_id"]]
        assert row["state"] == "completed" and row["activity_id"] == e["activity_id"], row
        assert (row["role"], row["completed_by"]) == (e["role"], e["actor"]), (row, e)
        out.append((e["activity_id"], e["role"], e["actor"]))
    return out


def http_trace(siji, instance_id: int, user: str = "auditor") -> list[dict]:
    """The case's audit events through GET /api/process-instances/{id}/trace (with their data)."""
    return siji.ok(siji.get(f"/api/process-instances/{instance_id}/trace", user))["events"]


def scheduled(siji, instance_id: int) -> list[tuple[str, str, str | None]]:
    """(activity, role, reserved user) of every task the service scheduled, in order."""
    return [
        (e["activity_id"], e["data"]["role"], e["data"].get("reserved_for"))
        for e in http_trace(siji, instance_id)
        if e["transition"] == "scheduled"
    ]


def transitions(siji, instance_id: int, transition: str) -> list[str]:
    """Activity ids of one kind of audit transition (timer_fired, timer_armed, end, ...), in order."""
    return [a for (t, a, _, _) in siji.trace(instance_id) if t == transition]


def assert_chain_ok(siji, instance_id: int) -> None:
    body = siji.ok(siji.get(f"/api/process-instances/{instance_id}/trace/verify", "auditor"))
    assert body["ok"] is True and body["broken_at"] is None, body


def segments(seq: list[str], parts: list) -> None:
    """`seq` is the concatenation of `parts`; a part is a list (that exact order) or a set (those
    activities in any order, each once: a parallel segment)."""
    i = 0
    for part in parts:
        n = len(part)
        chunk = seq[i : i + n]
        if isinstance(part, (set, frozenset)):
            assert Counter(chunk) == Counter(part), f"at {i}: {chunk} is not the parallel set {sorted(part)}\n{seq}"
        else:
            assert chunk == list(part), f"at {i}: {chunk} != {list(part)}\n{seq}"
        i += n
    assert i == len(seq), f"unexpected extra activities {seq[i:]}\n{seq}"


# ---------------------------------------------------------------- timers
def timers(siji, instance_id: int, status: str | None = "waiting") -> dict[str, dict]:
    """The case's timers (GET /api/process-instances/{id} → timers) by activity id."""
    out = {}
    for t in siji.instance(instance_id)["timers"]:
        if status is None or t["status"] == status:
            assert t["activity_id"] not in out, f"two {status} timers for {t['activity_id']}"
            out[t["activity_id"]] = t
    return out


def due(siji, instance_id: int, activity_id: str) -> datetime:
    return parse_utc(timers(siji, instance_id)[activity_id]["due_at"])


def advance_past(siji, instance_id: int, activity_id: str, margin: timedelta = timedelta(hours=1)) -> datetime:
    """Move the clock just past the due time the waiting timer reports and let the worker run.
    Checks the timer is listed by GET /api/timers, fired, and not before its due time."""
    waiting = timers(siji, instance_id)[activity_id]
    listed = siji.ok(siji.get(f"/api/timers?process_instance_id={instance_id}&status=waiting", "auditor"))["items"]
    assert waiting["id"] in {t["id"] for t in listed}
    due_at = parse_utc(waiting["due_at"])
    assert due_at > siji.clock.now(), (activity_id, due_at, siji.clock.now())
    # a minute before the deadline it has not fired yet
    siji.advance(due_at - siji.clock.now() - timedelta(minutes=1))
    assert timers(siji, instance_id).get(activity_id, {}).get("id") == waiting["id"], f"{activity_id} fired early"
    fired = siji.advance(margin + timedelta(minutes=1))
    assert fired >= 1, f"{activity_id} did not fire"
    row = {t["id"]: t for t in siji.instance(instance_id)["timers"]}[waiting["id"]]
    assert row["status"] == "fired" and parse_utc(row["fired_at"]) > due_at, row
    return due_at
