from __future__ import annotations

import re
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from api.blueprint import Blueprint
from api.routes.common import actor, service
from api.schemas import (
    AdvanceClockSchema,
    CalendarResultSchema,
    CalendarYearSchema,
    ClockSchema,
    NewUserResultSchema,
    NewUserSchema,
    RevokeSchema,
    UserListSchema,
    UserSchema,
    UserUpdateSchema,
)
from engine import roles
from engine.service import clock_sync
from engine.service.calendar_years import store_year
from engine.service.errors import Forbidden, Invalid
from engine.service.users import add_user, revoke_tokens, update_user, user_json
from engine.store.models import User

blp = Blueprint(
    "admin",
    __name__,
    url_prefix="/api/admin",
    description="管理：用户、令牌、服务时钟、节假日 / admin: users, tokens, clock, holidays",
)

_DURATION = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def parse_duration(text: str) -> timedelta:
    m = _DURATION.match(text.strip().upper())
    if not m or text.strip().upper() in ("P", "PT") or text.strip().upper().endswith("T"):
        raise Invalid(
            "时长须为 ISO 8601 格式，如 P7D、PT2H",
            "advance must be an ISO 8601 duration such as P7D or PT2H",
            {"advance": ["无效的时长 / invalid duration"]},
        )
    w, d, h, mi, s = m.groups()
    delta = timedelta(
        weeks=int(w or 0), days=int(d or 0), hours=int(h or 0), minutes=int(mi or 0), seconds=float(s or 0)
    )
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
    offset = clock_sync.advance_clock(service(), parse_duration(body["advance"]), body["advance"], actor())
    return {"now": service().now().isoformat(), "offset_seconds": offset}


@blp.route("/users")
@blp.response(200, UserListSchema)
def list_users():
    """用户列表及可授予的角色 / Users, their display names and roles, whether they have a
    password; and the roles that can be given."""
    with service().db.read() as s:
        items = [user_json(s, u) for u in s.scalars(select(User).order_by(User.username))]
    return {
        "items": items,
        "roles": [
            {"code": r.code, "name": r.name_zh, "name_en": r.name_en, "department": r.department} for r in roles.ROLES
        ],
    }


@blp.route("/users", methods=["POST"])
@blp.arguments(NewUserSchema)
@blp.response(201, NewUserResultSchema)
def create_user_endpoint(body):
    """新建用户并签发令牌（令牌只显示这一次）/ Create a user and issue a token (shown only once)."""
    user, token = add_user(
        service(),
        body["username"],
        body["roles"],
        body.get("display_name", ""),
        body.get("enterprise_name"),
        body.get("paired_with") or [],
        body.get("password"),
    )
    return {"username": user.username, "roles": sorted(body["roles"]), "token": token}


create_user_endpoint.__name__ = "create_user"


@blp.route("/users/<string:username>", methods=["PATCH"])
@blp.arguments(UserUpdateSchema)
@blp.response(200, UserSchema)
def update_user_endpoint(body, username):
    """修改用户：显示名、角色（全集）、启用、密码；记入审计 / Change a user's display name, roles
    (the whole set), active flag or password; audited (never the password)."""
    return update_user(
        service(),
        actor(),
        username,
        body.get("display_name"),
        body.get("roles"),
        body.get("active"),
        body.get("password"),
    )


@blp.route("/tokens/revoke", methods=["POST"])
@blp.arguments(RevokeSchema)
@blp.response(200, NewUserResultSchema)
def revoke_token(body):
    """吊销某用户的全部令牌 / Revoke every token of a user."""
    user = revoke_tokens(service(), body["username"])
    return {"username": user.username, "roles": [], "token": ""}


@blp.route("/calendar", methods=["POST"])
@blp.arguments(CalendarYearSchema)
@blp.response(200, CalendarResultSchema)
def load_calendar(body):
    """载入某年的法定节假日与调休上班日，并重算该年的临时期限 / Load a year's holidays and make-up
    working days; provisional deadlines in that year are recomputed."""
    for field in ("holidays", "workdays"):
        bad = [d.isoformat() for d in body[field] if d.year != body["year"]]
        if bad:
            raise Invalid("日期不在该年度", "dates outside the year", {field: [f"{', '.join(bad[:5])}"]})
    try:
        n = store_year(service(), body["year"], body["holidays"], body["workdays"], actor().username)
    except ValueError as e:
        raise Invalid("节假日数据有误", str(e), {"workdays": [str(e)]}) from None
    return {"year": body["year"], "recomputed_timers": n}
