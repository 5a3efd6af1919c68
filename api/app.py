"""Application factory (Flask tutorial style): configuration from one Settings object, blueprints,
one authentication and authorization gate for every request."""

from __future__ import annotations

import logging

from flask import Flask, g, has_request_context, request
from flask_smorest import Api

from api import authz
from api.errors import MAX_REQUEST_BYTES, ErrorBodySchema, error, register_error_handlers
from api.input_guard import check_input
from engine.service.build import build_service
from engine.service.commands import Service
from engine.service.users import authenticate
from engine.settings import Settings

log = logging.getLogger("siji.api")

GATE_REFUSAL_EN = "your role may not do this"


class _Api(Api):
    ERROR_SCHEMA = ErrorBodySchema


def create_app(config: dict | None = None, service: Service | None = None, settings: Settings | None = None) -> Flask:
    """The WSGI application. ``service``: the core to serve (tests and tools pass their own);
    otherwise one is built from ``settings`` (default: the environment). The app never migrates
    the schema: ``siji serve`` and ``siji migrate`` do, once, before any worker starts."""
    settings = settings or Settings.from_env()
    app = Flask(__name__, instance_path=str(settings.instance_dir))
    app.config.update(
        API_TITLE="四即模式流程再造 API (siji)",
        API_VERSION="1.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=MAX_REQUEST_BYTES,
        SIJI_ALLOW_CLOCK_CONTROL=settings.allow_clock_control,
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False
    if config:
        app.config.update(config)
    if service is None:
        service = build_service(settings)
    app.extensions["siji"] = service

    api = _Api(
        app,
        spec_kwargs={
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        },
    )
    from api.routes import register

    register(api, app)
    _document_success(api)
    _share_request_connection(app, service)
    from api.observability import install as install_observability

    install_observability(app)  # before the gate: refused requests are counted and carry an id too
    app.before_request(_gate)
    register_error_handlers(app)
    return app


def _share_request_connection(app: Flask, service: Service) -> None:
    """On PostgreSQL a request's reads and its command share the connection its token lookup
    checked out: one pool checkout and one pre-ping per request."""
    db = getattr(service, "db", None)  # (tools build the app without a database to list its routes)
    if db is None or not db.is_postgres:
        return

    def current():
        if not has_request_context():
            return None
        conn = g.get("_db_conn")
        if conn is None:
            conn = g._db_conn = db.autocommit_engine.connect()
        return conn

    db.use_request_connection(current)

    @app.teardown_request
    def _close_request_connection(_exc):
        conn = g.pop("_db_conn", None)
        if conn is not None:
            conn.close()


def _gate():
    """Who is asking, and may their role call this endpoint at all (api/authz.py), before any
    view runs; then the hostile-input checks."""
    endpoint = request.endpoint
    if endpoint is None:
        return None  # 404/405 handled by Flask
    if authz.is_public(endpoint):
        return None
    svc = service()
    if svc.clock_sync is not None:
        svc.clock_sync.refresh()
    with svc.db.connection() as conn:
        actor = authenticate(conn, request.headers.get("Authorization"), svc.now(), request.remote_addr)
    if actor is None:
        return error(401, "unauthorized", "未登录或令牌无效", "missing, invalid, expired or revoked token")
    g.actor = actor
    if not authz.allowed(endpoint, actor.roles):
        log.warning("authorization refused: user=%s endpoint=%s", actor.username, endpoint)
        return error(403, "forbidden", "您的角色无权执行此操作", GATE_REFUSAL_EN)
    return check_input()


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


def service() -> Service:
    from flask import current_app

    return current_app.extensions["siji"]
