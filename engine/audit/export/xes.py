"""XES (IEEE 1849-2016) writer."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime

from engine.audit.export.cases import TRACE_NAMESPACE, Case, jsonable
from engine.audit.export.json_csv import _dumps

XES_EXTENSIONS = [
    ("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
    ("Time", "time", "http://www.xes-standard.org/time.xesext"),
    ("Lifecycle", "lifecycle", "http://www.xes-standard.org/lifecycle.xesext"),
    ("Organizational", "org", "http://www.xes-standard.org/org.xesext"),
    ("Identity", "identity", "http://www.xes-standard.org/identity.xesext"),
]
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
SYSTEM_ROLE = "system"


def _attr(text) -> str:
    s = _XML_BAD.sub("\ufffd", "" if text is None else str(text))
    return (
        s.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("\n", "&#10;")
        .replace("\r", "&#13;")
        .replace("\t", "&#9;")
    )


def _xes_time(dt: datetime) -> str:
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+00:00"


def _s(key: str, value) -> str:
    return f'<string key="{key}" value="{_attr(value)}"/>'


def event_uuid(event_hash: str) -> str:
    return str(uuid.UUID(hex=event_hash[:32]))


def case_uuid(case_id: int) -> str:
    return str(uuid.uuid5(TRACE_NAMESPACE, f"siji:process-instance:{case_id}"))


def xes_stream(cases: Iterable[Case], meta: dict | None = None) -> Iterator[str]:
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        "<!-- IEEE 1849-2016 XES, exported by siji (四即模式流程再造) -->\n",
        '<log xes.version="1849.2016">\n',
    ]
    for name, prefix, uri in XES_EXTENSIONS:
        out.append(f'  <extension name="{name}" prefix="{prefix}" uri="{uri}"/>\n')
    out.append(
        '  <global scope="trace">'
        + _s("concept:name", "__INVALID__")
        + '<id key="identity:id" value="00000000-0000-0000-0000-000000000000"/></global>\n'
    )
    out.append(
        '  <global scope="event">'
        + _s("concept:name", "__INVALID__")
        + '<date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/>'
        + _s("lifecycle:transition", "complete")
        + _s("org:resource", "__INVALID__")
        + _s("org:role", "__INVALID__")
        + '<id key="identity:id" value="00000000-0000-0000-0000-000000000000"/></global>\n'
    )
    out.append('  <classifier name="Activity" scope="event" keys="concept:name"/>\n')
    out.append('  <classifier name="Activity_Lifecycle" scope="event" keys="concept:name lifecycle:transition"/>\n')
    out.append("  " + _s("concept:name", "siji 审计轨迹 / siji audit trail") + "\n")
    out.append("  " + _s("lifecycle:model", "standard") + "\n")
    for k, v in (meta or {}).items():
        if v is not None and re.fullmatch(r"[A-Za-z_][\w.-]*", k):
            out.append("  " + _s(f"export.{k}", v) + "\n")
    yield "".join(out)
    for case in cases:
        parts = [
            "  <trace>",
            _s("concept:name", case.id),
            f'<id key="identity:id" value="{case_uuid(case.id)}"/>',
            _s("process_key", case.process_key),
            _s("process_name", case.process_name),
            f'<int key="process_version" value="{case.version}"/>',
            _s("status", case.status),
        ]
        if case.business_key:
            parts.append(_s("business_key", case.business_key))
        if case.enterprise:
            parts.append(_s("enterprise", case.enterprise))
        if case.enterprise_name:
            parts.append(_s("enterprise_name", case.enterprise_name))
        if case.outcome_id:
            parts.append(_s("outcome", case.outcome_name or case.outcome_id))
        parts.append("\n")
        for e in case.events:
            parts.append(
                "    <event>"
                + _s("concept:name", e["activity"])
                + f'<date key="time:timestamp" value="{_xes_time(e["at"])}"/>'
                + _s("lifecycle:transition", e["lifecycle"])
                + _s("org:resource", e["actor"] or SYSTEM_ROLE)
                + _s("org:role", e["role"] or SYSTEM_ROLE)
                + (_s("org:group", e["role_name"]) if e["role_name"] else "")
                + f'<id key="identity:id" value="{event_uuid(e["hash"])}"/>'
                + f'<int key="seq" value="{e["seq"]}"/>'
                + _s("transition", e["transition"])
                + (_s("activity_id", e["activity_id"]) if e["activity_id"] else "")
                + (_s("task_id", e["task_id"]) if e["task_id"] else "")
                + (_s("data", _dumps(jsonable(e["data"]))) if e["data"] else "")
                + _s("hash", e["hash"])
                + "</event>\n"
            )
        parts.append("  </trace>\n")
        yield "".join(parts)
    yield "</log>\n"
