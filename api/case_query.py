"""The case filters shared by the case list (GET /api/process-instances) and the trace export
(GET /api/traces): flow, status, period, department, overdue. One schema and one parser, so the
page that lists cases exports exactly the cases it listed."""

from __future__ import annotations

from marshmallow import fields, validate

from api.schemas import QuerySchema
from engine.audit import export
from engine.roles import DEPARTMENT_ROLES
from engine.service.errors import Invalid


class CaseFilterQuery(QuerySchema):
    process_key = fields.String(validate=validate.Length(max=100))
    status = fields.String(validate=validate.OneOf(["running", "completed", "terminated"]))
    from_ = fields.String(
        data_key="from",
        validate=validate.Length(max=40),
        metadata={
            "description": "案件发起时间下限 / cases started at or after: YYYY-MM-DD "
            "(China day) or an ISO datetime (UTC when no zone)"
        },
    )
    to = fields.String(
        validate=validate.Length(max=40),
        metadata={
            "description": "案件发起时间上限（含当日）/ cases started before the end of "
            "this China day, or before this ISO datetime"
        },
    )
    department = fields.String(
        validate=validate.OneOf(sorted(DEPARTMENT_ROLES)),
        metadata={"description": "经办部门（角色代码）/ cases holding a task of this department role"},
    )
    overdue = fields.Boolean(
        metadata={
            "description": "true：现有已逾期的待办（与 department 同用时为该部门的）/ "
            "cases with an open task past its due time now (of the "
            "department, when one is given)"
        }
    )


def trace_filter(query: dict, now) -> export.TraceFilter:
    try:
        start = export.parse_bound(query.get("from_"))
        end = export.parse_bound(query.get("to"), end=True)
    except export.FilterError as e:
        raise Invalid("日期格式有误", "not a date or datetime", {"from/to": [f"{e}: YYYY-MM-DD 或 ISO 8601"]}) from None
    return export.TraceFilter(
        process_key=query.get("process_key"),
        start=start,
        end=end,
        status=query.get("status"),
        department=query.get("department"),
        overdue_at=now if query.get("overdue") else None,
    )
