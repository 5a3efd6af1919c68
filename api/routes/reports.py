"""Supervision (督导检查): department and flow performance, and the problem register (工作台账)."""

from __future__ import annotations

from marshmallow import RAISE, fields, validate

from api.blueprint import Blueprint
from api.routes.common import service
from api.schemas import QuerySchema
from engine.audit import export
from engine.reports.figures import departments_report, flows_report, ledger_report
from engine.reports.overdue import overdue_tasks
from engine.service.errors import Invalid

blp = Blueprint(
    "reports", __name__, url_prefix="/api", description="督导检查与工作台账 / supervision reports and the work ledger"
)


class WindowQuery(QuerySchema):
    from_ = fields.String(
        data_key="from",
        validate=validate.Length(max=40),
        metadata={"description": "下限 / from: YYYY-MM-DD (China day) or ISO datetime"},
    )
    to = fields.String(
        validate=validate.Length(max=40),
        metadata={"description": "上限（含当日）/ to: YYYY-MM-DD (whole China day) or ISO datetime"},
    )
    process_key = fields.String(
        validate=validate.Length(min=1, max=100), metadata={"description": "只统计该流程 / one flow only"}
    )


class OverdueQuery(QuerySchema):
    process_key = fields.String(validate=validate.Length(min=1, max=100))
    role = fields.String(validate=validate.Length(min=1, max=40), metadata={"description": "部门 / department role"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class LedgerQuery(QuerySchema):
    process_key = fields.String(load_default="enterprise_call", validate=validate.Length(max=100))
    status = fields.String(validate=validate.OneOf(["running", "completed", "terminated"]))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


def _window(query):
    try:
        return export.parse_bound(query.get("from_")), export.parse_bound(query.get("to"), end=True)
    except export.FilterError as e:
        raise Invalid("日期格式有误", "not a date or datetime", {"from/to": [f"{e}: YYYY-MM-DD 或 ISO 8601"]}) from None


@blp.route("/reports/departments")
@blp.arguments(WindowQuery, location="query")
def departments(query):
    """部门办理情况 / Per department and flow: tasks completed (in the window), on time, overdue
    (completed after the deadline), expired (deadline passed unfinished), currently open, open
    and overdue, median and p90 handling time (claim or creation → completion)."""
    start, end = _window(query)
    svc = service()
    with svc.db.read(snapshot=True) as s:
        return departments_report(s, svc.now(), start, end, query.get("process_key"))


@blp.route("/reports/flows")
@blp.arguments(WindowQuery, location="query")
def flows(query):
    """流程运行情况 / Per flow, over cases started in the window: started, running, finished by
    outcome, median and p90 lead time (start → end), rework rounds (repeated completions of the
    same task), and per activity waiting (created → the claim that led to completion) vs working
    (that claim → completion) hours from the audit trail — the simulator's definitions
    (engine/reports/lead_time.py, docs/SIMULATION.md). The lead time is in calendar seconds and
    hours, and in working days (`lead_time.workdays`: office hours SIJI_OFFICE_HOURS on the
    working-day calendar the timers use, as the simulator counts them)."""
    start, end = _window(query)
    svc = service()
    with svc.db.read(snapshot=True) as s:
        return flows_report(s, svc.now(), start, end, query.get("process_key"), svc.working_time())


@blp.route("/reports/overdue")
@blp.arguments(OverdueQuery, location="query", unknown=RAISE)  # (webargs excludes unknown query keys by default)
def overdue(query):
    """逾期待办（督办清单）：所有部门已过期限仍未办结的任务，逾期最久在前 / The overdue list:
    every department's open tasks past their deadline, most overdue first, with the case's
    business key and enterprise."""
    svc = service()
    with svc.db.read(snapshot=True) as s:
        return overdue_tasks(
            s, svc.now(), query.get("process_key"), query.get("role"), query["page"], query["per_page"]
        )


@blp.route("/ledger")
@blp.arguments(LedgerQuery, location="query")
def ledger(query):
    """问题台账 / The problem register of a flow (default `enterprise_call`): number, enterprise,
    handling unit, responsible person, time limit, status, closed on time or not."""
    svc = service()
    with svc.db.read(snapshot=True) as s:
        return ledger_report(s, svc.now(), query["process_key"], query["page"], query["per_page"], query.get("status"))
