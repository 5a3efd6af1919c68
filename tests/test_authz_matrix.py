"""Authorization, exhaustively: every endpoint of the Flask url_map × every role (one user per role
code of engine/roles.py, plus no token), then the row rules (whose task, whose case), then tokens.

The full walk runs on SQLite against one shared world (module fixture); the row rules that act
(complete) and the token tests run on both backends.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import re
from datetime import timedelta

import pytest
from conftest import DATA, ROOT, make_harness

from api import authz
from api.app import GATE_REFUSAL_EN
from engine import roles

MINI = DATA / "mini"
GOOD_START = {"enterprise_name": "甲公司", "credit_code": "91350100M000100Y43"}
ROLE_CODES = [r.code for r in roles.ROLES]
NO_SUCH_TASK = "00000000-0000-0000-0000-000000000000"
NO_SUCH_INSTANCE = 999999


def _load_table_tool():
    spec = importlib.util.spec_from_file_location("authz_table", ROOT / "tools" / "authz_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


TABLE = _load_table_tool()
ROUTES = TABLE.routes()  # endpoint → (methods, path), from the real app's url_map


def user_for(code: str | None) -> str | None:
    return None if code is None else f"u_{code}"


# ------------------------------------------------------------------ the matrix itself
def test_every_endpoint_of_the_app_is_in_the_matrix():
    api_endpoints = {ep for ep, (_, path) in ROUTES.items() if path.startswith("/api")}
    missing = sorted(api_endpoints - authz.MATRIX.keys())
    assert not missing, f"endpoints missing from api.authz.MATRIX (refused to everyone): {missing}"
    for ep, rule in authz.MATRIX.items():
        assert rule == authz.PUBLIC or (rule and rule <= authz.ALL_ROLES), (ep, rule)


def test_matrix_policy():
    posts = [ep for ep, (methods, _) in ROUTES.items() if "POST" in methods.split(",")]
    assert posts, "the walk found no POST endpoints"
    for ep in posts:
        rule = authz.MATRIX.get(ep)
        # the one public write: the password login, which checks the password itself
        assert rule != authz.PUBLIC or ep == "login.login", f"{ep} is a public write"
        # (logging out revokes only the caller's own session token; an API token is refused)
        assert rule is None or "auditor" not in rule or ep == "login.logout", (
            f"auditors write nothing, but may call {ep}"
        )
    assert authz.MATRIX["deployments.deploy"] == {"analyst"}
    for ep in ("admin.create_user_endpoint", "admin.list_users", "admin.revoke_token", "admin.update_user_endpoint"):
        assert authz.MATRIX[ep] == {"admin"}, ep
    # public: only health, the API description and the static pages
    public = {ep for ep, rule in authz.MATRIX.items() if rule == authz.PUBLIC}
    assert public <= {
        "health.health",
        "api-docs.openapi_json",
        "apidocs.docs",
        "apidocs.init_js",
        "apidocs.static",
        "pages.static_page",
        "pages.asset",
        "login.login",
    }, public


@pytest.mark.parametrize("doc", ["docs/SECURITY.md", "README.md"])
def test_security_doc_table_is_current(doc):
    path = ROOT / doc
    assert TABLE.current_doc_table(path) is not None, f"{doc} has no generated authorization table"
    assert TABLE.current_doc_table(path) == TABLE.table(), (
        f"{doc}'s authorization table is out of date: run tools/authz-table --write"
    )


# ------------------------------------------------------------------ the shared world (SQLite)
class World:
    def __init__(self, h):
        self.h = h
        self.tasks: dict[str, str] = {}
        self.instances: dict[str, int] = {}

    def call(self, user, method, url, **kw):
        headers = self.h.headers(user, kw.pop("headers", None))
        return self.h.client.open(url, method=method, headers=headers, **kw)


def _mini_with_commissioner_starts() -> dict[str, bytes]:
    files = {
        "mini.bpmn": (MINI / "mini.bpmn")
        .read_text(encoding="utf-8")
        .replace(
            '<bpmn:process id="mini" name="测试流程" isExecutable="true">',
            '<bpmn:process id="mini" name="测试流程" isExecutable="true" '
            'camunda:candidateStarterGroups="applicant,commissioner">',
        )
        .encode(),
        "mini.settings.json": (MINI / "mini.settings.json").read_bytes(),
    }
    for f in ("Task_Review", "Task_Correct", "start"):
        files[f"forms/mini/{f}.form"] = (MINI / "forms" / "mini" / f"{f}.form").read_bytes()
    assert b"candidateStarterGroups" in files["mini.bpmn"]
    return files


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    h = make_harness(
        f"sqlite:///{tmp_path_factory.mktemp('authz') / 'siji.sqlite3'}",
        "sqlite",
        config={"SIJI_ALLOW_CLOCK_CONTROL": True},
    )
    for code in ROLE_CODES:
        h.add_user(user_for(code), [code], pair_with=["ent_a"] if code == "commissioner" else None)
    h.add_user("com_other", ["commissioner"], pair_with=["ent_b"])
    h.ok(h.deploy_files(_mini_with_commissioner_starts()), 201)
    w = World(h)
    a1 = h.start("mini", "ent_a", GOOD_START)["id"]
    b1 = h.start("mini", "ent_b", GOOD_START)["id"]
    a2 = h.start("mini", "u_commissioner", GOOD_START, on_behalf_of="ent_a")["id"]
    b2 = h.start("mini", "ent_b", GOOD_START)["id"]
    w.instances = {"A1": a1, "B1": b1, "A2": a2, "B2": b2}
    w.tasks["rA1"] = h.task_for("bureau", a1, "Task_Review")["id"]
    w.tasks["rB1"] = h.task_for("bureau", b1, "Task_Review")["id"]
    for name, iid, ent in (("A2", a2, "ent_a"), ("B2", b2, "ent_b")):
        w.tasks[f"r{name}done"] = h.complete(
            "bureau", iid, "Task_Review", {"complete": False, "missing_items": "营业执照"}
        )["id"]
        w.tasks[f"c{name}"] = h.task_for(ent, iid, "Task_Correct")["id"]
    yield w
    h.service.db.dispose()


# What each identity may see, written out by hand (not computed with api.authz).
ALL_TASKS = {"rA1", "rB1", "rA2done", "rB2done", "cA2", "cB2"}
OPEN_TASKS = {"rA1", "rB1", "cA2", "cB2"}
ALL_CASES = {"A1", "B1", "A2", "B2"}


def expected_tasks(user: str) -> set[str]:
    if user in ("u_auditor", "u_admin"):
        return set(ALL_TASKS)
    if user in ("u_approval_bureau", "bureau"):
        return {"rA1", "rB1", "rA2done", "rB2done"}
    return {"ent_a": {"cA2"}, "ent_b": {"cB2"}}.get(user, set())


def expected_cases(user: str) -> set[str]:
    # auditors and admins read everything; the leading-group office supervises every case (督导检查)
    if user in ("u_auditor", "u_admin", "u_approval_bureau", "bureau", "u_leading_group_office"):
        return set(ALL_CASES)
    return {
        "ent_a": {"A1", "A2"},
        "ent_b": {"B1", "B2"},
        "u_commissioner": {"A1", "A2"},  # started A2; paired with ent_a, so A1 too
        "com_other": {"B1", "B2"},
    }.get(user, set())


# ------------------------------------------------------------------ the walk
IDENTITIES = [None] + ROLE_CODES


def _request_for(ep: str, w: World):
    """(method, url, kwargs): a request that passes the gate for allowed roles and then stops at
    validation or a row check, so the walk changes nothing."""
    done = w.tasks["rA2done"]  # completed: claim/unclaim/complete answer 404 or 409, never 200
    specs = {
        "deployments.deploy": ("POST", "/api/deployments", {"data": {}, "content_type": "multipart/form-data"}),
        "instances.start": ("POST", "/api/process-instances", {"json": {"process_key": "no_such_process"}}),
        "tasks.claim": ("POST", f"/api/tasks/{done}/claim", {}),
        "tasks.unclaim": ("POST", f"/api/tasks/{done}/unclaim", {}),
        "tasks.complete": ("POST", f"/api/tasks/{done}/complete", {"json": {"data": {}}}),
        "admin.create_user_endpoint": ("POST", "/api/admin/users", {"json": {"username": "", "roles": []}}),
        "admin.revoke_token": ("POST", "/api/admin/tokens/revoke", {"json": {"username": "no_such_user"}}),
        "admin.load_calendar": ("POST", "/api/admin/calendar", {"json": {"year": 1999, "holidays": []}}),
        "admin.advance_clock": ("POST", "/api/admin/clock", {"json": {"advance": "nonsense"}}),
    }
    if ep in specs:
        return specs[ep]
    # An endpoint added later: GET it (or POST an empty body) with its path filled from the world.
    rule = next(r for r in w.h.app.url_map.iter_rules() if r.endpoint == ep)

    def value(m):
        converter, name = m.group(1) or "", m.group(2)
        if converter.startswith("int"):
            return str(w.instances["A1"])
        return {"task_id": w.tasks["rA1"], "key": "mini"}.get(name, "index.html")

    url = re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", value, rule.rule)
    method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
    return method, url, ({"json": {}} if method != "GET" else {})


@pytest.mark.parametrize("role", IDENTITIES, ids=lambda r: r or "anonymous")
@pytest.mark.parametrize("endpoint", sorted(ROUTES))
def test_walk_every_endpoint_with_every_role(world, endpoint, role):
    method, url, kw = _request_for(endpoint, world)
    resp = world.call(user_for(role), method, url, **kw)
    body = resp.get_json(silent=True) or {}
    rule = authz.MATRIX.get(endpoint)
    what = f"{role or 'anonymous'} {method} {url} → {resp.status_code} {resp.get_data(as_text=True)[:300]}"
    assert resp.status_code < 500, what
    if rule == authz.PUBLIC:
        assert resp.status_code not in (401, 403), what
    elif role is None:
        assert resp.status_code == 401 and body.get("error") == "unauthorized", what
    elif rule is None or role not in rule:
        assert resp.status_code == 403 and body.get("message_en") == GATE_REFUSAL_EN, what
    else:
        assert resp.status_code != 401, what
        assert not (resp.status_code == 403 and body.get("message_en") == GATE_REFUSAL_EN), what


def test_auditor_writes_nothing(world):
    posts = [ep for ep, (methods, _) in ROUTES.items() if "POST" in methods.split(",")]
    for ep in posts:
        method, url, kw = _request_for(ep, world)
        resp = world.call("u_auditor", "POST", url, **kw)
        # logging in and out concern only the caller's own session: an empty login body is
        # invalid, and an auditor's API token is not a session token (nothing is revoked)
        assert resp.status_code == (422 if ep in ("login.login", "login.logout") else 403), (ep, resp.status_code)
    # and with a body that would otherwise succeed
    resp = world.call(
        "u_auditor", "POST", f"/api/tasks/{world.tasks['rA1']}/complete", json={"data": {"complete": True}}
    )
    assert resp.status_code == 403
    assert world.h.task_for("bureau", world.instances["A1"], "Task_Review")["state"] == "open"


# ------------------------------------------------------------------ row rules
ROW_USERS = [user_for(c) for c in ROLE_CODES] + ["ent_a", "ent_b", "bureau", "com_other"]


def _roles_of(user: str) -> set[str]:
    if user.startswith("u_"):
        return {user[2:]}
    return {
        "ent_a": {"applicant"},
        "ent_b": {"applicant"},
        "bureau": {"approval_bureau"},
        "com_other": {"commissioner"},
    }[user]


def _allowed(user, endpoint) -> bool:
    return bool(_roles_of(user) & authz.MATRIX[endpoint])


@pytest.mark.parametrize("user", ROW_USERS)
def test_task_rows(world, user):
    w = world
    if not _allowed(user, "tasks.list_tasks"):
        assert w.call(user, "GET", "/api/tasks").status_code == 403
        for t in ALL_TASKS:  # the same answer for every id, existing or not: nothing to probe
            assert w.call(user, "GET", f"/api/tasks/{w.tasks[t]}").status_code == 403
        return
    seen = {t["id"] for t in w.h.ok(w.call(user, "GET", "/api/tasks?state=all&per_page=500"))["items"]}
    want = expected_tasks(user)
    assert seen == {w.tasks[t] for t in want}, (user, seen)
    missing = w.call(user, "GET", f"/api/tasks/{NO_SUCH_TASK}")
    assert missing.status_code == 404
    for t in sorted(ALL_TASKS):
        resp = w.call(user, "GET", f"/api/tasks/{w.tasks[t]}")
        if t in want:
            assert resp.status_code == 200, (user, t)
        else:
            assert resp.status_code == 404, (user, t, resp.status_code)
            assert resp.get_json() == missing.get_json()
    if not _allowed(user, "tasks.claim"):
        return
    for t in sorted(OPEN_TASKS):
        url = f"/api/tasks/{w.tasks[t]}"
        if t in want:
            assert w.h.ok(w.call(user, "POST", url + "/claim"))["assignee"] == user
            assert w.h.ok(w.call(user, "POST", url + "/unclaim"))["assignee"] is None
        else:
            for action, kw in (("claim", {}), ("unclaim", {}), ("complete", {"json": {"data": {"complete": True}}})):
                resp = w.call(user, "POST", f"{url}/{action}", **kw)
                assert resp.status_code == 404, (user, t, action, resp.status_code)
                assert resp.get_json()["error"] == "not_found"


@pytest.mark.parametrize("user", ROW_USERS)
def test_case_rows(world, user):
    w = world
    trace = "traces.instance_trace" in ROUTES
    if not _allowed(user, "instances.list_instances"):
        assert w.call(user, "GET", "/api/process-instances").status_code == 403
        for c in ALL_CASES:
            assert w.call(user, "GET", f"/api/process-instances/{w.instances[c]}").status_code == 403
        return
    seen = {i["id"] for i in w.h.ok(w.call(user, "GET", "/api/process-instances?per_page=500"))["items"]}
    want = expected_cases(user)
    assert seen == {w.instances[c] for c in want}, (user, seen)
    missing = w.call(user, "GET", f"/api/process-instances/{NO_SUCH_INSTANCE}")
    assert missing.status_code == 404
    for c in sorted(ALL_CASES):
        urls = [f"/api/process-instances/{w.instances[c]}"]
        if trace and _allowed(user, "traces.instance_trace"):
            urls.append(f"/api/process-instances/{w.instances[c]}/trace")
        for url in urls:
            resp = w.call(user, "GET", url)
            if c in want:
                assert resp.status_code == 200, (user, url)
            else:
                assert resp.status_code == 404, (user, url, resp.status_code)
                assert resp.get_json()["error"] == "not_found"


def test_commissioner_acts_only_for_paired_enterprises(world):
    w = world
    # u_commissioner is paired with ent_a only; com_other with ent_b only
    resp = w.call(
        "u_commissioner",
        "POST",
        "/api/process-instances",
        json={"process_key": "mini", "variables": GOOD_START, "on_behalf_of": "ent_b"},
    )
    assert resp.status_code == 422 and "on_behalf_of" in resp.get_json()["fields"]
    resp = w.call(
        "com_other",
        "POST",
        "/api/process-instances",
        json={"process_key": "mini", "variables": GOOD_START, "on_behalf_of": "ent_a"},
    )
    assert resp.status_code == 422 and "on_behalf_of" in resp.get_json()["fields"]
    # an applicant cannot start for another enterprise
    resp = w.call(
        "ent_a",
        "POST",
        "/api/process-instances",
        json={"process_key": "mini", "variables": GOOD_START, "on_behalf_of": "ent_b"},
    )
    assert resp.status_code == 403
    # the commissioner reads its enterprise's case, including the one it did not start
    a1 = w.h.ok(w.call("u_commissioner", "GET", f"/api/process-instances/{w.instances['A1']}"))
    assert a1["enterprise"] == "ent_a" and a1["starter"] == "ent_a"
    a2 = w.h.ok(w.call("u_commissioner", "GET", f"/api/process-instances/{w.instances['A2']}"))
    assert a2["enterprise"] == "ent_a" and a2["starter"] == "u_commissioner"


# ------------------------------------------------------------------ acting, on both backends
def test_row_rules_when_completing(siji):
    from test_api_core import mini_files

    siji.ok(siji.deploy_files(mini_files()), 201)
    siji.add_user("com", ["commissioner"], pair_with=["ent_a"])
    a = siji.start("mini", "ent_a", GOOD_START)["id"]
    b = siji.start("mini", "ent_b", GOOD_START)["id"]
    review_b = siji.task_for("bureau", b, "Task_Review")["id"]
    # another department, an applicant, the auditor: the bureau's task is not theirs
    for user, status in (("fire", 404), ("ent_a", 404), ("com", 404), ("auditor", 403), ("analyst", 403)):
        resp = siji.post(f"/api/tasks/{review_b}/complete", user, json={"data": {"complete": True}})
        assert resp.status_code == status, (user, resp.status_code)
    siji.complete("bureau", a, "Task_Review", {"complete": False, "missing_items": "营业执照"})
    correct_a = siji.task_for("ent_a", a, "Task_Correct")["id"]
    for user in ("ent_b", "bureau", "com", "fire"):
        resp = siji.post(f"/api/tasks/{correct_a}/complete", user, json={"data": {"correction_note": "x"}})
        assert resp.status_code == 404, (user, resp.status_code)
    assert [t for t, *_ in siji.trace(a)].count("complete") == 1
    siji.ok(siji.post(f"/api/tasks/{correct_a}/complete", "ent_a", json={"data": {"correction_note": "已补正"}}))
    assert [(t, u) for (t, _, u, _) in siji.trace(a) if t == "complete"] == [
        ("complete", "bureau"),
        ("complete", "ent_a"),
    ]


# ------------------------------------------------------------------ tokens
def _token_rows(siji):
    from sqlalchemy import select

    from engine.store.models import Token

    with siji.service.db.read() as s:
        return [t.token_hash for t in s.scalars(select(Token))]


def test_tokens_are_stored_hashed(siji):
    hashes = _token_rows(siji)
    for _user, token in siji.tokens.items():
        assert token not in hashes
        assert hashlib.sha256(token.encode()).hexdigest() in hashes
        assert len(token) >= 40


def test_expired_token_is_refused(siji):
    from sqlalchemy import select

    from engine.service.users import issue_token
    from engine.store.models import User

    with siji.service.db.write() as s:
        user = s.scalar(select(User).where(User.username == "fire"))
        short = issue_token(s, user, siji.clock.now(), ttl=timedelta(hours=1))
    headers = {"Authorization": f"Bearer {short}"}
    assert siji.client.get("/api/me", headers=headers).status_code == 200
    siji.clock.advance(timedelta(minutes=59))
    assert siji.client.get("/api/me", headers=headers).status_code == 200
    siji.clock.advance(timedelta(minutes=2))
    resp = siji.client.get("/api/me", headers=headers)
    assert resp.status_code == 401 and resp.get_json()["error"] == "unauthorized"
    assert siji.get("/api/me", "fire").status_code == 200  # the 90-day token still works


def test_revoked_token_is_refused(siji):
    assert siji.get("/api/me", "fire").status_code == 200
    assert siji.post("/api/admin/tokens/revoke", "fire", json={"username": "fire"}).status_code == 403
    siji.ok(siji.post("/api/admin/tokens/revoke", "admin", json={"username": "fire"}))
    assert siji.get("/api/me", "fire").status_code == 401
    assert siji.get("/api/tasks", "fire").status_code == 401
    assert siji.get("/api/me", "housing").status_code == 200
    assert siji.post("/api/admin/tokens/revoke", "admin", json={"username": "nobody"}).status_code == 404


def test_malformed_authorization_headers(siji):
    token = siji.tokens["fire"]
    for value in (
        "",
        "Bearer",
        "Bearer ",
        f"Basic {token}",
        f"bearer{token}",
        "Bearer " + "x" * 10000,
        f"Bearer {token}x",
        f"Bearer {token[:-1]}",
        "Bearer \u00e9\u00e9",
    ):
        resp = siji.client.get("/api/me", headers={"Authorization": value})
        assert resp.status_code == 401, value[:40]


def test_tokens_never_reach_the_logs(siji, caplog):
    caplog.set_level(logging.DEBUG)
    revoked = siji.tokens["housing"]
    siji.ok(siji.post("/api/admin/tokens/revoke", "admin", json={"username": "housing"}))
    bogus = "sj_" + "A" * 43
    assert siji.client.get("/api/me", headers={"Authorization": f"Bearer {revoked}"}).status_code == 401
    assert siji.client.get("/api/me", headers={"Authorization": f"Bearer {bogus}"}).status_code == 401
    assert siji.post("/api/deployments", "fire").status_code == 403  # authorization refused
    assert siji.get("/api/me", "fire").status_code == 200
    text = caplog.text
    assert "login failed" in text and "revoked" in text and "unknown" in text
    assert "authorization refused" in text and "fire" in text
    for secret in [revoked, bogus, *siji.tokens.values()]:
        assert secret not in text
        assert secret[3:20] not in text


def test_actor_comes_from_the_token_never_the_body(siji):
    from test_api_core import mini_files

    siji.ok(siji.deploy_files(mini_files()), 201)
    inst = siji.start("mini", "ent_a", GOOD_START)["id"]
    task = siji.task_for("bureau", inst, "Task_Review")["id"]
    before = siji.trace(inst)
    for body, field in (
        ({"data": {"complete": True}, "actor": "admin"}, "actor"),
        ({"data": {"complete": True}, "role": "admin"}, "role"),
        ({"data": {"complete": True}, "completed_by": "fire"}, "completed_by"),
        ({"data": {"complete": True, "completed_by": "fire"}}, "completed_by"),
        ({"data": {"complete": True, "actor": "admin"}}, "actor"),
    ):
        resp = siji.post(f"/api/tasks/{task}/complete", "bureau", json=body)
        assert resp.status_code == 422, body
        assert field in resp.get_json()["fields"], resp.get_json()
    assert siji.trace(inst) == before
    # identity headers a proxy might add are ignored too
    siji.ok(
        siji.post(
            f"/api/tasks/{task}/complete",
            "bureau",
            json={"data": {"complete": True}},
            headers={"X-User": "admin", "X-Forwarded-User": "fire", "X-Role": "admin"},
        )
    )
    completes = [(u, r) for (t, _, u, r) in siji.trace(inst) if t == "complete"]
    assert completes == [("bureau", "approval_bureau")]
    detail = siji.instance(inst)
    assert [t["completed_by"] for t in detail["tasks"]] == ["bureau"]
