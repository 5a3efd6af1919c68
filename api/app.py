"""Application factory (Flask tutorial style): config from the environment, blueprints, one
authentication and authorization gate for every request."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask, g, jsonify, request
from flask_smorest import Api
from sqlalchemy.exc import OperationalError, DBAPIError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from engine.clock import SystemClock
from engine.runtime import Engine
from engine.workdays import WorkdayCalendar

from . import authz
from .auth import authenticate
from .commands import CommandError, Service
from .db import Database, default_url
from .schema import upgrade

log = logging.getLogger("siji.api")

MAX_REQUEST_BYTES = 8 * 1024 * 1024


def create_app(config: dict | None = None, service: Service | None = None) -> Flask:
    app = Flask(__name__, instance_path=os.environ.get("SIJI_INSTANCE_DIR", str(Path.cwd() / "instance")))
    app.config.update(
        API_TITLE="四即模式流程再造 API (siji)",
        API_VERSION="1.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL="/api/docs/static/",
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        SIJI_DATABASE_URL=os.environ.get("SIJI_DATABASE_URL"),
        SIJI_ALLOW_CLOCK_CONTROL=os.environ.get("SIJI_ALLOW_CLOCK_CONTROL") == "1",
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False
    if config:
        app.config.update(config)

    if service is None:
        url = app.config["SIJI_DATABASE_URL"] or default_url(app.instance_path)
        db = Database(url)
        upgrade(db)
        clock = SystemClock()
        service = Service(db, Engine(clock=clock, calendar=WorkdayCalendar()))
        from .clocksync import ClockSync
        service.clock_sync = ClockSync(service)
        service.clock_sync.refresh(force=True)
        from .calendar import load_calendar_years
        load_calendar_years(service)
    app.extensions["siji"] = service

    api = Api(app, spec_kwargs={"components": {"securitySchemes": {
        "bearer": {"type": "http", "scheme": "bearer"}}}, "security": [{"bearer": []}]})
    api.ERROR_SCHEMA = None
    from .routes import register
    register(api, app)

    @app.before_request
    def _gate():
        endpoint = request.endpoint
        if endpoint is None:
            return None  # 404/405 handled by Flask
        if authz.is_public(endpoint):
            return None
        sync = getattr(service, "clock_sync", None)
        if sync is not None:
            sync.refresh()
        with service.db.read() as s:
            actor = authenticate(s, request.headers.get("Authorization"), service.now(), request.remote_addr)
        if actor is None:
            return _error(401, "unauthorized", "未登录或令牌无效", "missing, invalid, expired or revoked token")
        g.actor = actor
        ok = authz.allowed(endpoint, actor.roles)
        if not ok:
            log.warning("authorization refused: user=%s endpoint=%s", actor.username, endpoint)
            return _error(403, "forbidden", "您的角色无权执行此操作", "your role may not do this")
        return None

    @app.errorhandler(CommandError)
    def _command_error(e: CommandError):
        return jsonify(e.body()), e.status

    @app.errorhandler(StaleDataError)
    def _stale(e):
        return _error(409, "conflict", "并发冲突，请重试", "lost a race with another command; retry")

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def _db_down(e):
        log.error("database error: %s", e.__class__.__name__)
        if _is_connection_problem(e):
            return _error(503, "unavailable", "数据库暂不可用，请稍后重试", "database unavailable; retry later")
        if "locked" in str(e).lower() or "could not serialize" in str(e).lower() or "deadlock" in str(e).lower():
            return _error(409, "conflict", "并发冲突，请重试", "lost a race with another command; retry")
        return _error(503, "unavailable", "数据库错误，请稍后重试", "database error; retry later")

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        if e.code == 422 and getattr(e, "data", None):
            messages = e.data.get("messages", {})
            fields = {}
            for location, errs in messages.items():
                if isinstance(errs, dict):
                    for k, v in errs.items():
                        fields[k] = v if isinstance(v, list) else [v]
            return _error(422, "invalid", "请求数据有误", "invalid request", fields)
        zh = {400: "请求有误", 401: "未登录", 403: "无权操作", 404: "不存在", 405: "不支持的方法",
              409: "冲突", 413: "请求过大", 415: "不支持的媒体类型"}.get(e.code, "错误")
        return _error(e.code or 500, (e.name or "error").lower().replace(" ", "_"), zh, e.description or e.name)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        log.exception("unexpected error")
        return _error(500, "internal", "服务器内部错误", "internal error")

    return app


def _is_connection_problem(e) -> bool:
    if getattr(e, "connection_invalidated", False):
        return True
    text = str(getattr(e, "orig", e)).lower()
    return any(s in text for s in ("connection", "server closed", "terminating", "could not connect",
                                   "the database system is", "admin shutdown", "connection refused"))


def _error(status: int, code: str, zh: str, en: str, fields: dict | None = None):
    body = {"error": code, "message": f"{zh} / {en}", "message_zh": zh, "message_en": en}
    if fields:
        body["fields"] = fields
    return jsonify(body), status


def service() -> Service:
    from flask import current_app
    return current_app.extensions["siji"]
