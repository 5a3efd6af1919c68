"""Application factory (Flask tutorial style): config from the environment, blueprints, one
authentication and authorization gate for every request."""
from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

from flask import Flask, g, has_request_context, jsonify, request
from flask_smorest import Api
from marshmallow import INCLUDE, Schema
from marshmallow import fields as ma_fields
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from engine.clock import SystemClock
from engine.workflow.runtime import Engine
from engine.workdays import WorkdayCalendar

from api import authz
from engine.service.users import authenticate
from engine.service.commands import CommandError, Service
from engine.store.db import Database, default_url
from engine.store.migrate import upgrade

log = logging.getLogger("siji.api")

MAX_REQUEST_BYTES = 8 * 1024 * 1024
MAX_JSON_DEPTH = 32          # form data and request bodies nest a few levels; anything deeper is hostile
GATE_REFUSAL_EN = "your role may not do this"


class ErrorBodySchema(Schema):
    """Every error the API answers: ``{error, message, message_zh, message_en, fields?}`` plus,
    for some, more detail (``problems`` of a refused deployment, ``activity_id``… of a failed
    engine step). Documented as the default response of every operation."""

    class Meta:
        unknown = INCLUDE

    error = ma_fields.String(required=True, metadata={"description": "机器可读的错误码 / machine-readable code"})
    message = ma_fields.String(required=True, metadata={"description": "中文 / English"})
    message_zh = ma_fields.String()
    message_en = ma_fields.String()
    fields = ma_fields.Dict(keys=ma_fields.String(), values=ma_fields.List(ma_fields.Raw()),
                            metadata={"description": "出错的字段 / the fields at fault"})
    problems = ma_fields.List(ma_fields.Dict(), metadata={"description": "部署问题 / deployment problems"})


class _Api(Api):
    ERROR_SCHEMA = ErrorBodySchema


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
        _test_commit_delay(db)
        upgrade(db)
        clock = SystemClock()
        service = Service(db, Engine(clock=clock, calendar=WorkdayCalendar()))
        from engine.service.clock_sync import ClockSync
        service.clock_sync = ClockSync(service)
        service.clock_sync.refresh(force=True)
        from engine.service.calendar_years import load_calendar_years
        load_calendar_years(service)
    app.extensions["siji"] = service

    api = _Api(app, spec_kwargs={"components": {"securitySchemes": {
        "bearer": {"type": "http", "scheme": "bearer"}}}, "security": [{"bearer": []}]})
    from api.routes import register
    register(api, app)
    _document_success(api)

    db = getattr(service, "db", None)   # (tools build the app without a database to list its routes)
    if db is not None and db.is_postgres:
        def _request_connection():
            if not has_request_context():
                return None
            conn = g.get("_db_conn")
            if conn is None:
                conn = g._db_conn = db.autocommit_engine.connect()
            return conn

        db.request_connection = _request_connection

        @app.teardown_request
        def _close_request_connection(_exc):
            conn = g.pop("_db_conn", None)
            if conn is not None:
                conn.close()

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
        with service.db.connection() as conn:
            actor = authenticate(conn, request.headers.get("Authorization"), service.now(), request.remote_addr)
        if actor is None:
            return _error(401, "unauthorized", "未登录或令牌无效", "missing, invalid, expired or revoked token")
        g.actor = actor
        ok = authz.allowed(endpoint, actor.roles)
        if not ok:
            log.warning("authorization refused: user=%s endpoint=%s", actor.username, endpoint)
            return _error(403, "forbidden", "您的角色无权执行此操作", GATE_REFUSAL_EN)
        return _check_input()

    @app.errorhandler(CommandError)
    def _command_error(e: CommandError):
        return jsonify(e.body()), e.status

    @app.errorhandler(StaleDataError)
    def _stale(e):
        return _error(409, "conflict", "并发冲突，请重试", "lost a race with another command; retry")

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def _db_down(e):
        if isinstance(e, DataError):   # a value the column cannot hold: the request's fault, not an outage
            log.warning("database refused a value: %s", str(getattr(e, "orig", e)).splitlines()[0][:200])
            return _error(422, "invalid", "数据超出允许范围", "a value is out of range")
        log.error("database error: %s %s", e.__class__.__name__, str(getattr(e, "orig", e)).splitlines()[0][:300])
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
        if e.code == 400 and isinstance(getattr(e, "data", None), dict) and "json" in e.data.get("messages", {}):
            return _error(400, "invalid_json", "请求体不是有效的 JSON", "request body is not valid JSON",
                          {"json": ["无效的 JSON / invalid JSON"]})
        if e.code == 413:
            return _error(413, "too_large", f"请求过大（上限 {MAX_REQUEST_BYTES // (1024 * 1024)} MB）",
                          f"request too large (limit {MAX_REQUEST_BYTES // (1024 * 1024)} MB)")
        zh = {400: "请求有误", 401: "未登录", 403: "无权操作", 404: "不存在", 405: "不支持的方法",
              409: "冲突", 413: "请求过大", 415: "不支持的媒体类型"}.get(e.code, "错误")
        return _error(e.code or 500, (e.name or "error").lower().replace(" ", "_"), zh, e.description or e.name)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        log.exception("unexpected error")
        return _error(500, "internal", "服务器内部错误", "internal error")

    return app


def _test_commit_delay(db: Database) -> None:
    """Test-only hook (tests/test_crash_safety.py): with SIJI_TEST_COMMIT_DELAY=<seconds> every
    write transaction sleeps just before its COMMIT, after all its statements ran, so that a
    SIGKILL lands inside transactions. Harmless: it only delays, and is off unless the variable is
    set (never in production)."""
    delay = float(os.environ.get("SIJI_TEST_COMMIT_DELAY") or 0)
    if delay <= 0:
        return
    import time
    from sqlalchemy import event

    @event.listens_for(db.write_engine, "commit")
    def _slow_commit(conn):
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":   # reads share the pool
            time.sleep(delay)


def _document_success(api) -> None:
    """An operation whose view declares no success response (it builds its own Response: CSV,
    XES, a streamed export…) is documented with a plain "200 OK" — otherwise a client (and the
    fuzz test) would read its 200 against the error schema."""
    for ops in api.spec._paths.values():
        for method, op in ops.items():
            if method in ("get", "post", "put", "patch", "delete") and isinstance(op, dict):
                responses = op.setdefault("responses", {})
                if not any(str(code).startswith("2") for code in responses):
                    responses["200"] = {"description": "OK"}


# ---------------------------------------------------------------- hostile input
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def _bad_text(s: str) -> bool:
    """Control characters (Unicode category Cc other than tab and line breaks) and lone
    surrogates: PostgreSQL cannot store NUL, a lone surrogate cannot be encoded, and none
    belongs in a case."""
    return _BAD_CHARS.search(s) is not None


_INTEGER = re.compile(r"\s*[+-]?\d+\s*")


INT_MAX = 2 ** 31 - 1   # ids and counts are 32-bit INTEGER columns (PostgreSQL refuses bigger)


def _fits_int32(text: str) -> bool:
    text = text.strip().lstrip("+-").lstrip("0")
    return len(text) < 10 or (len(text) <= 12 and int(text) <= INT_MAX)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def _check_input():
    """Runs after authorization, before any view: refuses what no view should ever see.

    - query parameters and path parameters with control characters (422 / 404);
    - an Idempotency-Key that is not 1–200 visible ASCII characters (422);
    - JSON bodies that are not UTF-8, not JSON (NaN, Infinity, integers beyond 4300 digits
      included), nested deeper than MAX_JSON_DEPTH (10,000 levels would make the parser recurse
      until RecursionError), or with control characters in any key or string (422 naming the field).
    """
    for k, v in request.args.items(multi=True):
        if not k:
            return _error(422, "invalid", "查询参数缺少名称", "query parameter without a name",
                          {"query": ["参数名为空 / empty parameter name"]})
        if _bad_text(k) or _bad_text(v):
            return _error(422, "invalid", "查询参数含有控制字符", "query parameter contains control characters",
                          {k if not _bad_text(k) else "query": ["包含不允许的控制字符 / contains control characters"]})
    for k, v in request.args.items(multi=True):
        if _INTEGER.fullmatch(v) and not _fits_int32(v):
            return _error(422, "invalid", "数值超出范围", "number out of range", {k: ["超出范围 / out of range"]})
    for v in (request.view_args or {}).values():
        if (isinstance(v, str) and _bad_text(v)) or (isinstance(v, int) and not -INT_MAX <= v <= INT_MAX):
            return _error(404, "not_found", "不存在", "not found")   # no row can have that id
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (0 < len(key) <= 200 and all("!" <= c <= "~" for c in key)):
        return _error(422, "invalid", "幂等键须为 1–200 个可见 ASCII 字符",
                      "Idempotency-Key must be 1-200 visible ASCII characters",
                      {"Idempotency-Key": ["无效 / invalid"]})
    if request.method not in ("POST", "PUT", "PATCH") or not request.is_json:
        return None
    raw = request.get_data(cache=True)   # bounded by MAX_CONTENT_LENGTH (413 beyond)
    if not raw.strip():
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return _error(400, "invalid_json", "请求体不是有效的 UTF-8 文本", f"request body is not valid UTF-8 (byte {e.start})",
                      {"json": [f"第 {e.start} 字节不是 UTF-8 / byte {e.start} is not UTF-8"]})
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        return _error(400, "invalid_json", f"JSON 嵌套过深（上限 {MAX_JSON_DEPTH} 层）",
                      f"JSON nested too deeply (limit {MAX_JSON_DEPTH} levels)",
                      {"json": [f"嵌套过深 / nested deeper than {MAX_JSON_DEPTH} levels"]})
    except ValueError as e:   # JSONDecodeError, NaN/Infinity, integers over 4300 digits
        return _error(400, "invalid_json", "请求体不是有效的 JSON", f"request body is not valid JSON: {str(e)[:200]}",
                      {"json": [str(e)[:200]]})
    problem = _json_problem(value)
    if problem is not None:
        path, zh, en = problem
        return _error(422, "invalid", zh, en, {path or "json": [f"{zh} / {en}"]})
    return None


def _json_problem(value) -> tuple[str, str, str] | None:
    """The first problem in a parsed JSON value: too deep, or control characters. Iterative."""
    stack = [(value, 0, "")]
    while stack:
        node, depth, path = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return (_field(path), f"嵌套过深（上限 {MAX_JSON_DEPTH} 层）", f"nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(node, str):
            if _bad_text(node):
                return (_field(path), "包含不允许的控制字符", "contains control characters")
        elif isinstance(node, dict):
            for k, v in node.items():
                sub = f"{path}.{k}" if path else k
                if _bad_text(k):
                    return (_field(path) or "json", "字段名包含控制字符", "a key contains control characters")
                stack.append((v, depth + 1, sub))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                stack.append((v, depth + 1, f"{path}.{i}" if path else str(i)))
    return None


def _field(path: str) -> str:
    """A field name for the error body: the path, shortened (a hostile one can be very long)."""
    parts = path.split(".")
    return ".".join(parts[:4]) + (".…" if len(parts) > 4 else "") if path else ""


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
