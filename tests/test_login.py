"""Login with a username and password (argon2id), session tokens, the failed-login lock, and the
admin's user management (display names, roles, passwords), through the real HTTP API on SQLite
and PostgreSQL."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

PW = "correct horse 2020"


def _login(h, username, password):
    return h.client.post("/api/login", json={"username": username, "password": password})


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_admin_sets_password_and_user_logs_in_with_a_session_token(siji):
    h = siji
    r = h.ok(
        h.client.patch(
            "/api/admin/users/bureau", json={"password": PW, "display_name": "张审批"}, headers=h.headers("admin")
        )
    )
    assert r["has_password"] is True and r["display_name"] == "张审批" and "password" not in r
    ok = h.ok(_login(h, "bureau", PW))
    assert ok["token"].startswith("sj_") and ok["token_type"] == "Bearer"
    assert ok["display_name"] == "张审批" and ok["roles"] == ["approval_bureau"]
    me = h.ok(h.client.get("/api/me", headers=_bearer(ok["token"])))
    assert me["username"] == "bureau" and me["display_name"] == "张审批" and me["notifications"] is True
    # a session token: the same table, label "session", twelve hours
    from engine.service.users import hash_token
    from engine.store.models import Token, User

    with h.service.db.read() as s:
        tok = s.scalar(select(Token).where(Token.token_hash == hash_token(ok["token"])))
        stored = s.scalar(select(User.password_hash).where(User.username == "bureau"))
    assert tok.label == "session" and tok.expires_at - tok.created_at == timedelta(hours=12)
    assert stored.startswith("$argon2id$") and PW not in stored
    h.clock.advance(timedelta(hours=12, seconds=1))
    assert h.client.get("/api/me", headers=_bearer(ok["token"])).status_code == 401
    assert h.client.get("/api/me", headers=h.headers("bureau")).status_code == 200  # its API token lives on
    # logout revokes the session token only
    again = h.ok(_login(h, "bureau", PW))["token"]
    assert h.client.post("/api/logout", headers=_bearer(again)).status_code == 204
    assert h.client.get("/api/me", headers=_bearer(again)).status_code == 401
    assert h.client.get("/api/me", headers=h.headers("bureau")).status_code == 200
    # an API token is not logged out this way (an admin revokes it): refused, still valid
    r = h.client.post("/api/logout", headers=h.headers("bureau"))
    assert r.status_code == 422 and "Authorization" in r.get_json()["fields"]
    assert h.client.get("/api/me", headers=h.headers("bureau")).status_code == 200


def test_wrong_passwords_are_refused_alike_logged_without_the_password_and_lock(siji, caplog):
    h = siji
    h.ok(h.client.patch("/api/admin/users/fire", json={"password": PW}, headers=h.headers("admin")))
    caplog.set_level(logging.WARNING, logger="siji.auth")
    for user, pw in (("fire", "wrong-password-1"), ("nobody", PW), ("housing", PW)):  # housing: no password
        r = _login(h, user, pw)
        assert r.status_code == 401 and r.get_json()["error"] == "login_failed", user
        assert r.get_json()["message_zh"] == "用户名或密码错误"
    assert "wrong-password-1" not in caplog.text and PW not in caplog.text
    assert "'fire'" in caplog.text and "'nobody'" in caplog.text
    for i in range(3):
        assert _login(h, "fire", f"wrong-password-{i + 2}").status_code == 401
    fifth = _login(h, "fire", "wrong-password-5")
    assert fifth.status_code == 429 and fifth.get_json()["error"] == "login_locked"
    assert _login(h, "fire", PW).status_code == 429  # even the right password, while locked
    assert h.client.get("/api/me", headers=h.headers("fire")).status_code == 200  # tokens still work
    listed = {u["username"]: u for u in h.ok(h.get("/api/admin/users", "admin"))["items"]}
    assert listed["fire"]["locked_until"] is not None
    h.clock.advance(timedelta(minutes=15, seconds=1))
    assert _login(h, "fire", PW).status_code == 200
    # the lock is in the audit trail (outside any case)
    from engine.store.models import AuditEvent

    with h.service.db.read() as s:
        locks = s.scalars(select(AuditEvent.data).where(AuditEvent.transition == "login_locked")).all()
    assert [d["username"] for d in locks] == ["fire"]
    # bad bodies name the field
    r = h.client.post("/api/login", json={"username": "fire"})
    assert r.status_code == 422 and "password" in r.get_json()["fields"]


def test_admin_adds_users_changes_roles_and_display_names_audited(siji):
    h = siji
    r = h.client.post(
        "/api/admin/users",
        json={"username": "li_si", "roles": ["tax_bureau"], "display_name": "李四", "password": PW},
        headers=h.headers("admin"),
    )
    assert r.status_code == 201, r.get_json()
    assert h.ok(_login(h, "li_si", PW))["display_name"] == "李四"
    short = h.client.post(
        "/api/admin/users",
        json={"username": "w5", "roles": ["tax_bureau"], "password": "short"},
        headers=h.headers("admin"),
    )
    assert short.status_code == 422 and "password" in short.get_json()["fields"]
    assert not any(u["username"] == "w5" for u in h.ok(h.get("/api/admin/users", "admin"))["items"])
    changed = h.ok(
        h.client.patch(
            "/api/admin/users/li_si",
            json={"roles": ["tax_bureau", "dept_supervisor"], "display_name": "李四（科长）"},
            headers=h.headers("admin"),
        )
    )
    assert changed["roles"] == ["dept_supervisor", "tax_bureau"] and changed["display_name"] == "李四（科长）"
    token = h.ok(_login(h, "li_si", PW))["token"]
    assert sorted(h.ok(h.client.get("/api/me", headers=_bearer(token)))["roles"]) == ["dept_supervisor", "tax_bureau"]
    for body, field in (
        ({"roles": ["nonsense"]}, "roles"),
        ({"password": "aaaaaaaaa"}, "password"),
        ({"roles": []}, "roles"),
        ({"display_name": ""}, "display_name"),
        ({"bogus": 1}, "bogus"),
    ):
        r = h.client.patch("/api/admin/users/li_si", json=body, headers=h.headers("admin"))
        assert r.status_code == 422 and field in r.get_json()["fields"], (body, r.get_json())
    assert (
        h.client.patch("/api/admin/users/nobody", json={"active": False}, headers=h.headers("admin")).status_code == 404
    )
    assert (
        h.client.patch("/api/admin/users/admin", json={"roles": ["auditor"]}, headers=h.headers("admin")).status_code
        == 422
    )  # not your own admin role
    assert (
        h.client.patch("/api/admin/users/li_si", json={"active": False}, headers=h.headers("bureau")).status_code == 403
    )
    h.ok(h.client.patch("/api/admin/users/li_si", json={"active": False}, headers=h.headers("admin")))
    assert _login(h, "li_si", PW).status_code == 401
    from engine.store.models import AuditEvent

    with h.service.db.read() as s:
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.transition == "user_changed").order_by(AuditEvent.id)
        ).all()
    assert [e.actor for e in events] == ["admin", "admin"]
    assert events[0].data["roles"] == {"added": ["dept_supervisor"], "removed": []}
    assert events[0].data["display_name"] == {"from": "李四", "to": "李四（科长）"}
    assert events[1].data["active"] is False
    assert all(PW not in str(e.data) for e in events)


def test_demo_sets_the_given_password(siji):
    from engine.cli.main import demo_users

    users = demo_users(siji.service, "demo-pass-123")
    assert {u for u, _, _ in users} >= {"analyst", "enterprise_a", "bureau_chief", "dept_approval_bureau"}
    assert siji.ok(_login(siji, "dept_approval_bureau", "demo-pass-123"))["roles"] == ["approval_bureau"]
    assert sorted(siji.ok(_login(siji, "bureau_chief", "demo-pass-123"))["roles"]) == [
        "approval_bureau",
        "dept_supervisor",
    ]
