"""Log lines that say which request and which case they belong to, as text or one JSON object a
line (``SIJI_LOG_FORMAT``). The ids travel in context variables: the web layer sets the request
id, the commands set the case id when they lock a case, the workers set it per case they advance.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime

request_id: ContextVar[str | None] = ContextVar("siji_request_id", default=None)
case_id: ContextVar[int | None] = ContextVar("siji_case_id", default=None)

_STD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id", "case_id"}


def bind_case(instance_id: int | None) -> None:
    case_id.set(instance_id)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.case_id = case_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
            "case_id": getattr(record, "case_id", None),
        }
        for k, v in vars(record).items():  # extra={...} fields
            if k not in _STD and not k.startswith("_"):
                out[k] = v
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


TEXT = "%(asctime)s %(name)s %(levelname)s [req=%(request_id)s case=%(case_id)s] %(message)s"


def configure(settings, stream=None) -> logging.Handler:
    """Root logging as ``settings`` says (format and level). Returns the handler it installed."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT))
    root = logging.getLogger()
    for h in list(root.handlers):
        if getattr(h, "_siji", False):
            root.removeHandler(h)
    handler._siji = True
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    # SpiffWorkflow logs every task state change at INFO: far too much for a server, and slow.
    for name in ("spiff", "spiff.task", "spiff.workflow", "alembic"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler
