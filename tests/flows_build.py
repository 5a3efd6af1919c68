"""Shared helpers for the scenario tests of the building flows (拿地即开工, 建成即使用):
tests/test_flow_land_to_construction.py and tests/test_flow_completion_acceptance.py.

Everything goes through the HTTP API of the `siji` harness (tests/conftest.py): the repository's
diagrams and forms are deployed as the analyst, every participant acts with its own token (one user
per department role, the enterprise `ent_a` as applicant), deadlines are reached by moving the
injected clock (`siji.advance`), never by sleeping.

The expected role of every user task is written down in each test module (ROLES) from the plan's
division of labour, independently of the diagram, so a task drawn in the wrong lane fails a test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from flows import assert_readonly_filled, segments  # noqa: F401  (one definition, used by both flows' tests)

ROOT = Path(__file__).resolve().parent.parent
CHINA = timezone(timedelta(hours=8))
APPLICANT = "ent_a"
OTHER_ENTERPRISE = "ent_b"

# One user per department role (the harness already has bureau, fire and housing).
USERS = {
    "applicant": APPLICANT,
    "approval_bureau": "bureau",
    "fire_rescue": "fire",
    "housing_construction": "housing",
    "investment_promotion": "invest",
    "park_service_center": "park",
    "natural_resources": "nrp",
    "economic_dev": "econ",
    "ecology_env": "ecology",
    "water_affairs": "water",
    "urban_management": "urban",
    "municipal_gardens": "gardens",
    "utility_operator": "utility",
    "leading_group_office": "office",
}

# GB 32100-2015 unified social credit code: 17 characters + a check character.
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc(body17: str) -> str:
    assert len(body17) == 17
    s = sum(_USCC_CHARS.index(c) * w for c, w in zip(body17, _USCC_WEIGHTS))
    return body17 + _USCC_CHARS[(31 - s % 31) % 31]


def setup(siji) -> None:
    """Deploy every diagram, DMN table, settings file and form of the repository (one deployment,
    as the analyst) and create the department users."""
    body = siji.deploy_paths(ROOT / "bpmn", ROOT / "forms")
    keys = {v["key"] for v in body["versions"]}
    assert {"land_to_construction", "completion_acceptance"} <= keys, keys
    for role, user in USERS.items():
        if user not in siji.tokens:
            siji.add_user(user, [role])


# ---------------------------------------------------------------- time
def parse_utc(text: str) -> datetime:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert dt.tzinfo is not None, f"timestamp without a zone: {text!r}"
    return dt.astimezone(UTC)


def today(siji) -> str:
    """Today's China-local date on the injected clock (YYYY-MM-DD), for the forms' date fields."""
    return siji.clock.now().astimezone(CHINA).date().isoformat()


def end_of_china_day(dt: datetime) -> datetime:
    d = dt.astimezone(CHINA).replace(hour=23, minute=59, second=59, microsecond=0)
    return d.astimezone(UTC)


# ---------------------------------------------------------------- a case driven by its participants
class Case:
    """One process instance, driven through HTTP by the participants; `roles` maps every user task
    of the flow to the department role that must receive it."""

    def __init__(self, siji, process_key: str, roles: dict[str, str], start_data: dict):
        self.siji = siji
        self.roles = roles
        self.key = process_key
        self._last_owners: set[str] = set(USERS.values())
        body = siji.start(process_key, APPLICANT, start_data)
        self.id = body["id"]
        assert body["process_key"] == process_key and body["enterprise"] == APPLICANT

    # -- reading
    def instance(self, user: str = "auditor") -> dict:
        return self.siji.instance(self.id, user)

    def open_tasks(self) -> dict[str, str]:
        """activity → role of the case's open tasks (auditor's view)."""
        tasks = [t for t in self.instance()["tasks"] if t["state"] == "open"]
        out = {t["activity_id"]: t["role"] for t in tasks}
        assert len(out) == len(tasks), f"two open tasks for one activity: {tasks}"
        return out

    def trace(self):
        return self.siji.trace(self.id)

    def completed(self) -> list[str]:
        return self.siji.completed_activities(self.id)

    def transitions(self, transition: str) -> list[str]:
        return [a for (t, a, _, _) in self.trace() if t == transition]

    def timers(self, status: str = "waiting") -> dict[str, dict]:
        out = {}
        for t in self.instance()["timers"]:
            if t["status"] == status:
                assert t["activity_id"] not in out, f"two {status} timers for {t['activity_id']}"
                out[t["activity_id"]] = t
        return out

    # -- who sees what
    def expect_open(self, *activities: str) -> None:
        """The case's open tasks are exactly `activities`, each with its expected role, and every
        participant's inbox holds exactly its own ones: applicant tasks only in the owning
        enterprise's inbox (never in ent_b's), department tasks only with that department. The
        first checkpoint looks at every participant's inbox, later ones at the users concerned."""
        want = set(activities)
        got = self.open_tasks()
        assert set(got) == want, f"open tasks {sorted(got)} != {sorted(want)}"
        for a, role in got.items():
            assert role == self.roles[a], f"{a} went to {role}, expected {self.roles[a]}"
        # the owners of these tasks, of the previous checkpoint's ones (theirs must be gone), the
        # other enterprise and the approval bureau (which has no user task in these flows)
        owners = {USERS[self.roles[a]] for a in want}
        users = owners | self._last_owners | {OTHER_ENTERPRISE, "bureau"}
        self._last_owners = owners
        for user in sorted(users):
            inbox = {t["activity_id"]: t for t in self.siji.inbox(user, process_instance_id=self.id)}
            mine = {a for a in want if USERS[self.roles[a]] == user}
            assert set(inbox) == mine, f"{user}'s inbox {sorted(inbox)} != {sorted(mine)}"
            for t in inbox.values():
                assert t["assignee"] is None and t["role"] == self.roles[t["activity_id"]]

    # -- acting
    def do(self, activity: str, data: dict) -> dict:
        """The user holding the task's role finds it in its own inbox and completes it with `data`.
        An applicant task is also checked to be invisible to the other enterprise."""
        role = self.roles[activity]
        user = USERS[role]
        task = self.siji.task_for(user, self.id, activity)
        assert task["role"] == role, (activity, task["role"], role)
        if role == "applicant":
            assert self.siji.get(f"/api/tasks/{task['id']}", OTHER_ENTERPRISE).status_code == 404
            resp = self.siji.post(f"/api/tasks/{task['id']}/complete", OTHER_ENTERPRISE, json={"data": data})
            assert resp.status_code == 404, f"{OTHER_ENTERPRISE} completes {activity}: {resp.status_code}"
        # the case file in front of the clerk: every always-shown read-only field has case data
        assert_readonly_filled(self.siji, user, task["id"])
        self.siji.ok(self.siji.post(f"/api/tasks/{task['id']}/complete", user, json={"data": data}))
        return task

    def refused(self, activity: str, data: dict, *fields: str) -> None:
        """Completing with `data` is refused (422) naming `fields`; the task stays open."""
        user = USERS[self.roles[activity]]
        task = self.siji.task_for(user, self.id, activity)
        resp = self.siji.post(f"/api/tasks/{task['id']}/complete", user, json={"data": data})
        assert resp.status_code == 422, resp.get_data(as_text=True)[:2000]
        named = resp.get_json().get("fields", {})
        for f in fields:
            assert f in named, (f, named)
        assert activity in self.open_tasks()

    # -- time
    def advance_past(self, activities, expected_due: datetime) -> datetime:
        """The waiting timers `activities` report `expected_due`; a minute before it nothing fires,
        just after it they all fire. Returns the due time."""
        if isinstance(activities, str):
            activities = [activities]
        waiting = self.timers()
        for a in activities:
            assert a in waiting, f"{a} is not waiting: {sorted(waiting)}"
            assert parse_utc(waiting[a]["due_at"]) == expected_due, (a, waiting[a]["due_at"], expected_due)
        listed = self.siji.ok(self.siji.get(f"/api/timers?process_instance_id={self.id}&status=waiting", "auditor"))[
            "items"
        ]
        assert {waiting[a]["id"] for a in activities} <= {t["id"] for t in listed}
        now = self.siji.clock.now()
        assert expected_due > now
        assert self.siji.advance(expected_due - now - timedelta(minutes=1)) == 0, "a timer fired early"
        assert set(activities) <= set(self.timers())
        fired = self.siji.advance(timedelta(minutes=2))
        assert fired == len(activities), (fired, activities)
        # by id: a timer in a loop (a notice published again) fires once per round
        rows = {t["id"]: t for t in self.instance()["timers"]}
        for a in activities:
            row = rows[waiting[a]["id"]]
            assert row["status"] == "fired" and parse_utc(row["fired_at"]) > expected_due, row
        return expected_due

    # -- the whole trace
    def check_trace_actors(self) -> None:
        """Every scheduled task went to its expected role, every completion was made by the user
        holding that role (the applicant's by the enterprise that started the case), and the
        audit chain verifies."""
        for transition, activity, actor, role in self.trace():
            if transition == "scheduled":
                assert role == self.roles[activity], (activity, role)
            elif transition == "complete":
                assert role == self.roles[activity], (activity, role)
                assert actor == USERS[role], (activity, actor, role)
        body = self.siji.ok(self.siji.get(f"/api/process-instances/{self.id}/trace/verify", "auditor"))
        assert body["ok"] is True, body
        # the other enterprise sees nothing of the case
        assert self.siji.get(f"/api/process-instances/{self.id}", OTHER_ENTERPRISE).status_code == 404

    def finished(self, end_id: str, end_name: str) -> dict:
        """The case is completed at the top-level end event `end_id`; returns its final data."""
        inst = self.instance(APPLICANT)
        assert inst["status"] == "completed", inst["status"]
        assert inst["outcome"] == {"id": end_id, "name": end_name}, inst["outcome"]
        assert self.open_tasks() == {}
        assert self.timers() == {}
        trace = self.trace()
        assert trace[-1][:2] == ("instance_completed", end_id), trace[-1]
        ends = [a for (t, a, _, _) in trace if t == "end"]
        assert ends[-1] == end_id, ends
        self.check_trace_actors()
        return inst["data"]
