from __future__ import annotations

import re
from datetime import timedelta

from flask import current_app
from flask_smorest import Blueprint
from sqlalchemy import select, update

from engine.service.users import create_user, issue_token, pair
from engine.audit.chain import GENESIS, event_hash
from engine.service.clock_sync import store_offset, stored_offset
from engine.service.commands import Forbidden, Invalid, NotFound
from engine.store.models import AuditEvent, Token, User, UserRole
from api.schemas import (AdvanceClockSchema, CalendarResultSchema, CalendarYearSchema, ClockSchema, NewUserResultSchema,
                       NewUserSchema, RevokeSchema, UserListSchema)
from api.routes.common import actor, service

blp = Blueprint("admin", __name__, url_prefix="/api/admin",
                description="管理：用户、令牌、服务时钟、节假日 / admin: users, tokens, clock, holidays")

_DURATION = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def parse_duration(text: str) -> timedelta:
    m = _DURATION.match(text.strip().upper())
    if not m or text.strip().upper() in ("P", "PT") or text.strip().upper().endswith("T"):
        raise Invalid("时长须为 ISO 8601 格式，如 P7D、PT2H", "advance must be an ISO 8601 duration such as P7D or PT2H",
                      {"advance": ["无效的时长 / invalid duration"]})
    w, d, h, mi, s = m.groups()
    delta = timedelta(weeks=int(w or 0), days=int(d or 0), hours=int(h or 0), minutes=int(mi or 0),
                      seconds=float(s or 0))
    if delta > timedelta(days=3660):
        raise Invalid("时长过大", "duration too large", {"advance": ["不超过十年 / at most ten years"]})
    return delta


@blp.route("/clock")
@blp.response(200, ClockSchema)
def get_clock():
    """服务时钟 / The service clock."""
    svc = service()
    offset = getattr(svc.clock, "offset", timedelta(0))
    return {"now": svc.now().isoformat(), "offset_seconds": offset.total_seconds()}


@blp.route("/clock", methods=["POST"])
@blp.arguments(AdvanceClockSchema)
@blp.response(200, ClockSchema)
def advance_clock(body):
    """拨快服务时钟（仅验收测试，需 SIJI_ALLOW_CLOCK_CONTROL=1）/ Move the service clock forward
    (acceptance testing only; needs SIJI_ALLOW_CLOCK_CONTROL=1). Stored in the database so every
    process shares it; recorded as an audit event."""
    if not current_app.config.get("SIJI_ALLOW_CLOCK_CONTROL"):
        raise Forbidden("未启用时钟控制", "clock control is disabled (SIJI_ALLOW_CLOCK_CONTROL is not 1)")
    svc = service()
    delta = parse_duration(body["advance"])
    if not hasattr(svc.clock, "set_offset"):
        raise Forbidden("此时钟不可调整", "this clock cannot be moved")
    with svc.db.write() as s:
        # Start from the stored offset (another process may have moved the clock since this one
        # last looked), locked so that two concurrent advances add up.
        offset = timedelta(seconds=stored_offset(s, lock=True))
        svc.clock.set_offset(offset)
        before = svc.now()
        new_offset = offset + delta
        store_offset(s, new_offset.total_seconds())
        data = {"advance": body["advance"], "from": before.isoformat(), "to": (before + delta).isoformat(),
                "offset_seconds": new_offset.total_seconds()}
        at = before
        h = event_hash(GENESIS, None, 1, at, None, "服务时钟", "clock_advanced", actor().username, "admin", None, data)
        s.add(AuditEvent(instance_id=None, process_key=None, seq=1, at=at, activity_id=None, activity_name="服务时钟",
                         transition="clock_advanced", actor=actor().username, role="admin", task_id=None, data=data,
                         prev_hash=GENESIS, hash=h))
    svc.clock.set_offset(new_offset)
    svc._timers_changed()
    return {"now": svc.now().isoformat(), "offset_seconds": new_offset.total_seconds()}


@blp.route("/users")
@blp.response(200, UserListSchema)
def list_users():
    """用户列表 / Users and their roles."""
    with service().db.read() as s:
        users = s.scalars(select(User).order_by(User.username)).all()
        roles_by = {}
        for uid, role in s.execute(select(UserRole.user_id, UserRole.role)):
            roles_by.setdefault(uid, []).append(role)
    return {"items": [{"username": u.username, "display_name": u.display_name, "roles": sorted(roles_by.get(u.id, [])),
                       "active": u.active} for u in users]}


@blp.route("/users", methods=["POST"])
@blp.arguments(NewUserSchema)
@blp.response(201, NewUserResultSchema)
def create_user_endpoint(body):
    """新建用户并签发令牌（令牌只显示这一次）/ Create a user and issue a token (shown only once)."""
    svc = service()
    now = svc.now()
    with svc.db.write() as s:
        try:
            user = create_user(s, body["username"], body["roles"], now, body.get("display_name", ""),
                               body.get("enterprise_name"))
        except ValueError as e:
            field = "roles" if "role" in str(e) else "username"
            raise Invalid("用户数据有误", str(e), {field: [str(e)]}) from None
        for other in body.get("paired_with", []) or []:
            peer = s.scalar(select(User).where(User.username == other))
            if peer is None:
                raise Invalid("结对用户不存在", f"no user '{other}'", {"paired_with": [f"未知用户 / unknown user {other}"]})
            if "commissioner" in body["roles"]:
                pair(s, user, peer)
            else:
                pair(s, peer, user)
        token = issue_token(s, user, now)
    return {"username": user.username, "roles": sorted(body["roles"]), "token": token}


create_user_endpoint.__name__ = "create_user"


@blp.route("/tokens/revoke", methods=["POST"])
@blp.arguments(RevokeSchema)
@blp.response(200, NewUserResultSchema)
def revoke_token(body):
    """吊销某用户的全部令牌 / Revoke every token of a user."""
    svc = service()
    with svc.db.write() as s:
        user = s.scalar(select(User).where(User.username == body["username"]))
        if user is None:
            raise NotFound("用户不存在", "no such user")
        s.execute(update(Token).where(Token.user_id == user.id, Token.revoked_at.is_(None))
                  .values(revoked_at=svc.now()))
    return {"username": user.username, "roles": [], "token": ""}


@blp.route("/calendar", methods=["POST"])
@blp.arguments(CalendarYearSchema)
@blp.response(200, CalendarResultSchema)
def load_calendar(body):
    """载入某年的法定节假日与调休上班日，并重算该年的临时期限 / Load a year's holidays and make-up
    working days; provisional deadlines in that year are recomputed."""
    from engine.service.calendar_years import store_year
    for field in ("holidays", "workdays"):
        bad = [d.isoformat() for d in body[field] if d.year != body["year"]]
        if bad:
            raise Invalid("日期不在该年度", "dates outside the year", {field: [f"{', '.join(bad[:5])}"]})
    try:
        n = store_year(service(), body["year"], body["holidays"], body["workdays"], actor().username)
    except ValueError as e:
        raise Invalid("节假日数据有误", str(e), {"workdays": [str(e)]}) from None
    return {"year": body["year"], "recomputed_timers": n}
