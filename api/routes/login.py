"""Login with a username and password for the pages (a session token, label "session", 12 hours),
and logout. API clients keep using the long-lived tokens an admin issues."""

from __future__ import annotations

from flask import request

from api.blueprint import Blueprint
from api.errors import error
from api.routes.common import service
from api.schemas import LoginResultSchema, LoginSchema
from engine.service.users import LoginRefused, end_session, password_login, user_json

blp = Blueprint(
    "login",
    __name__,
    url_prefix="/api",
    description="用户名密码登录（网页）/ login with a username and password (the pages)",
)


@blp.route("/login", methods=["POST"])
@blp.arguments(LoginSchema)
@blp.response(200, LoginResultSchema)
@blp.alt_response(401, description="用户名或密码错误 / wrong username or password")
@blp.alt_response(429, description="连续失败次数过多，暂时锁定 / locked after too many failures")
def login(body):
    """用户名和密码换取会话令牌（12 小时）；连续 5 次失败后锁定 15 分钟 / A username and password
    for a session token (12 hours); five failures in a row lock the password login for 15
    minutes. Failures are logged without the password."""
    svc = service()
    try:
        token, user, expires = password_login(svc, body["username"], body["password"], request.remote_addr)
    except LoginRefused as e:
        if e.locked_until is not None:
            return error(
                429,
                "login_locked",
                "连续登录失败次数过多，请稍后再试",
                "too many failed logins; try again later",
                locked_until=e.locked_until.isoformat(),
            )
        return error(401, "login_failed", "用户名或密码错误", "wrong username or password")
    with svc.db.read() as s:
        info = user_json(s, user)
    return {
        "token": token,
        "token_type": "Bearer",
        "expires_at": expires,
        "username": user.username,
        "display_name": info["display_name"],
        "roles": info["roles"],
    }


@blp.route("/logout", methods=["POST"])
@blp.response(204)
def logout():
    """注销本次请求所用的会话令牌（退出登录）；API 令牌由管理员吊销（422）/ Revoke the session
    token of this request (log out); API tokens are revoked by an admin (422)."""
    end_session(service(), request.headers.get("Authorization"))
    return None
