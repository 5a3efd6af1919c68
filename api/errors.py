"""Every error the API answers, in one shape built in one place:
``{error, message, message_zh, message_en, fields?, …}``. The HTTP status of each core error is
decided here."""

from __future__ import annotations

import logging

from flask import jsonify
from marshmallow import INCLUDE, Schema
from marshmallow import fields as ma_fields
from sqlalchemy.exc import DataError, DBAPIError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from api.request_errors import field_messages
from engine.service.errors import CommandError, Conflict, Forbidden, Invalid, NotFound, StepFailed
from engine.workflow.deploy import DeploymentRefused

log = logging.getLogger("siji.api")

MAX_REQUEST_BYTES = 8 * 1024 * 1024
STATUS = {NotFound: 404, Forbidden: 403, Conflict: 409, Invalid: 422, StepFailed: 422}
HTTP_ZH = {
    400: "请求有误",
    401: "未登录",
    403: "无权操作",
    404: "不存在",
    405: "不支持的方法",
    406: "无法提供所需格式",
    409: "冲突",
    413: "请求过大",
    415: "不支持的媒体类型",
    416: "请求范围无效",
    429: "请求过多",
    500: "服务器内部错误",
    501: "未实现",
    503: "服务暂不可用",
}
HTTP_EN = {404: "not found", 405: "method not allowed"}


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
    fields = ma_fields.Dict(
        keys=ma_fields.String(),
        values=ma_fields.List(ma_fields.Raw()),
        metadata={"description": "出错的字段 / the fields at fault"},
    )
    problems = ma_fields.List(ma_fields.Dict(), metadata={"description": "部署问题 / deployment problems"})


def error_body(code: str, zh: str, en: str, fields: dict | None = None, **extra) -> dict:
    body = {"error": code, "message": f"{zh} / {en}", "message_zh": zh, "message_en": en}
    if fields:
        body["fields"] = fields
    body.update(extra)
    return body


def error(http_status: int, code: str, zh: str, en: str, fields: dict | None = None, **extra):
    return jsonify(error_body(code, zh, en, fields, **extra)), http_status


def command_error(e: CommandError):
    status = next((s for cls, s in STATUS.items() if isinstance(e, cls)), 400)
    return error(status, e.code, e.message_zh, e.message_en, e.fields, **e.extra)


def deployment_refused(e: DeploymentRefused):
    return error(
        422, "deployment_refused", "部署被拒绝", "deployment refused", problems=[p.as_dict() for p in e.problems]
    )


def register_error_handlers(app) -> None:
    app.register_error_handler(CommandError, command_error)

    @app.errorhandler(StaleDataError)
    def _stale(e):
        return error(409, "conflict", "并发冲突，请重试", "lost a race with another command; retry")

    @app.errorhandler(OperationalError)
    @app.errorhandler(DBAPIError)
    def _db_down(e):
        if isinstance(e, DataError):  # a value the column cannot hold: the request's fault, not an outage
            log.warning("database refused a value: %s", str(getattr(e, "orig", e)).splitlines()[0][:200])
            return error(422, "invalid", "数据超出允许范围", "a value is out of range")
        log.error("database error: %s %s", e.__class__.__name__, str(getattr(e, "orig", e)).splitlines()[0][:300])
        if _is_connection_problem(e):
            return error(503, "unavailable", "数据库暂不可用，请稍后重试", "database unavailable; retry later")
        if "locked" in str(e).lower() or "could not serialize" in str(e).lower() or "deadlock" in str(e).lower():
            return error(409, "conflict", "并发冲突，请重试", "lost a race with another command; retry")
        return error(503, "unavailable", "数据库错误，请稍后重试", "database error; retry later")

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException):
        if e.code == 422 and getattr(e, "data", None):
            fields = field_messages(e.data.get("messages", {}))
            return error(422, "invalid", "请求数据有误", "invalid request", fields)
        if e.code == 400 and isinstance(getattr(e, "data", None), dict) and "json" in e.data.get("messages", {}):
            return error(
                400,
                "invalid_json",
                "请求体不是有效的 JSON",
                "request body is not valid JSON",
                {"json": ["无效的 JSON / invalid JSON"]},
            )
        if e.code == 413:
            mb = MAX_REQUEST_BYTES // (1024 * 1024)
            return error(413, "too_large", f"请求过大（上限 {mb} MB）", f"request too large (limit {mb} MB)")
        code = e.code or 500
        en = HTTP_EN.get(code) or (e.description if code not in (404, 405) else None) or e.name
        return error(code, (e.name or "error").lower().replace(" ", "_"), HTTP_ZH.get(code, "错误"), en)

    @app.errorhandler(Exception)
    def _unexpected(e: Exception):
        log.exception("unexpected error")
        return error(500, "internal", "服务器内部错误", "internal error")


def _is_connection_problem(e) -> bool:
    if getattr(e, "connection_invalidated", False):
        return True
    text = str(getattr(e, "orig", e)).lower()
    return any(
        s in text
        for s in (
            "connection",
            "server closed",
            "terminating",
            "could not connect",
            "the database system is",
            "admin shutdown",
            "connection refused",
        )
    )
