"""Trace exports for auditors: JSON, CSV, XES (IEEE 1849-2016) and OCEL 2.0 JSON.

Cases are read in keyset-paged batches (``Instance.id > last``, a short read transaction per
batch) and every writer is a generator of text chunks, so a log of any size streams through the
API (``GET /api/traces``) or ``siji export`` without being built in memory.

Lifecycle (XES standard lifecycle model) of the audit transitions:

================  ==========================================================
audit transition  lifecycle:transition
================  ==========================================================
instance_started  start        (concept:name = the process name)
scheduled         schedule     (a user task was created)
claim             assign       (``reassign`` when the task was claimed before)
unclaim           unknown      (released to the pool; the model has no such step)
complete          complete     (with the submitted form data)
cancel            withdraw     (a boundary event or an ended case removed the task)
timer_armed       schedule     (of the timer event)
timer_fired       complete
timer_cancelled   withdraw
timer_recomputed  unknown
gateway, script,  complete     (atomic engine steps)
business_rule,
activity, end
instance_completed complete    (concept:name = the process name; ``outcome``)
instance_terminated pi_abort
anything else     unknown
================  ==========================================================
"""
from __future__ import annotations

import csv
import io
import json
import re
import sys
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Iterator

from sqlalchemy import func, select

from engine import roles

from engine.store.models import AuditEvent, Instance, ProcessVersionRow, User

CHINA = timezone(timedelta(hours=8))
FORMATS = ("json", "csv", "xes", "ocel")
MEDIA_TYPES = {
    "json": "application/json; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "xes": "application/xml; charset=utf-8",
    "ocel": "application/json; charset=utf-8",
}
EXTENSIONS = {"json": "json", "csv": "csv", "xes": "xes", "ocel": "jsonocel"}
BATCH = 50

INSTANCE_LEVEL = {"instance_started", "instance_completed", "instance_terminated"}
_FIXED_LIFECYCLE = {
    "instance_started": "start", "scheduled": "schedule", "unclaim": "unknown", "complete": "complete",
    "cancel": "withdraw", "timer_armed": "schedule", "timer_fired": "complete", "timer_cancelled": "withdraw",
    "timer_recomputed": "unknown", "gateway": "complete", "script": "complete", "business_rule": "complete",
    "activity": "complete", "end": "complete", "instance_completed": "complete", "instance_terminated": "pi_abort",
}
TRACE_NAMESPACE = uuid.UUID("8d3c1f0e-5a4b-4c1e-9f55-7f1b2a6c0d51")


# ----------------------------------------------------------------------------- filters
class FilterError(ValueError):
    pass


def parse_bound(value: str | None, end: bool = False) -> datetime | None:
    """``YYYY-MM-DD`` is a China-time day (``to`` includes that whole day); a datetime without a
    zone is UTC. Returns an aware UTC datetime, exclusive when ``end``."""
    if value is None or value == "":
        return None
    text = value.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            d = date.fromisoformat(text)
            if end:
                d += timedelta(days=1)
            return datetime.combine(d, time(0), CHINA).astimezone(timezone.utc)
        dt = datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "+") if "T" in text else text)
    except ValueError:
        raise FilterError(value) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


@dataclass
class TraceFilter:
    process_key: str | None = None
    start: datetime | None = None      # instances created at or after
    end: datetime | None = None        # instances created before
    status: str | None = None
    instance_ids: list[int] | None = None

    def conditions(self) -> list:
        conds = []
        if self.process_key:
            conds.append(Instance.process_key == self.process_key)
        if self.status:
            conds.append(Instance.status == self.status)
        if self.start is not None:
            conds.append(Instance.created_at >= self.start)
        if self.end is not None:
            conds.append(Instance.created_at < self.end)
        if self.instance_ids is not None:
            conds.append(Instance.id.in_(self.instance_ids))
        return conds

    def as_dict(self) -> dict:
        return {"process_key": self.process_key, "from": _iso(self.start), "to": _iso(self.end),
                "status": self.status}


# ----------------------------------------------------------------------------- reading
@dataclass
class Case:
    id: int
    process_key: str
    process_name: str
    version: int
    business_key: str | None
    status: str
    starter: str | None
    enterprise: str | None
    enterprise_name: str | None
    created_at: datetime
    ended_at: datetime | None
    outcome_id: str | None
    outcome_name: str | None
    events: list[dict] = field(default_factory=list)


def count_cases(db, flt: TraceFilter, visible=None) -> int:
    conds = flt.conditions()
    if visible is not None and visible is not True:
        conds.append(visible)
    with db.read() as s:
        return s.scalar(select(func.count(Instance.id)).where(*conds)) or 0


def iter_cases(db, flt: TraceFilter, visible=None, batch: int | None = None) -> Iterator[Case]:
    """Cases with their events, oldest first, ``batch`` cases per short read transaction."""
    batch = batch or BATCH
    conds = flt.conditions()
    if visible is not None and visible is not True:
        conds.append(visible)
    last = 0
    while True:
        with db.read(snapshot=True) as s:
            rows = s.execute(
                select(Instance.id, Instance.process_key, ProcessVersionRow.name, ProcessVersionRow.version,
                       Instance.business_key, Instance.status, Instance.starter_id, Instance.enterprise_id,
                       Instance.created_at, Instance.ended_at, Instance.outcome_id, Instance.outcome_name)
                .join(ProcessVersionRow, ProcessVersionRow.id == Instance.version_id)
                .where(Instance.id > last, *conds).order_by(Instance.id).limit(batch)).all()
            if not rows:
                return
            user_ids = {r.starter_id for r in rows} | {r.enterprise_id for r in rows}
            users = {u.id: u for u in s.execute(select(User.id, User.username, User.display_name,
                                                       User.enterprise_name).where(User.id.in_(user_ids)))}
            cases: dict[int, Case] = {}
            for r in rows:
                ent = users.get(r.enterprise_id)
                cases[r.id] = Case(
                    id=r.id, process_key=r.process_key, process_name=r.name, version=r.version,
                    business_key=r.business_key, status=r.status,
                    starter=users[r.starter_id].username if r.starter_id in users else None,
                    enterprise=ent.username if ent else None,
                    enterprise_name=(ent.enterprise_name or ent.display_name or ent.username) if ent else None,
                    created_at=r.created_at, ended_at=r.ended_at, outcome_id=r.outcome_id,
                    outcome_name=r.outcome_name)
            events = s.execute(
                select(AuditEvent.instance_id, AuditEvent.seq, AuditEvent.at, AuditEvent.activity_id,
                       AuditEvent.activity_name, AuditEvent.transition, AuditEvent.actor, AuditEvent.role,
                       AuditEvent.task_id, AuditEvent.data, AuditEvent.prev_hash, AuditEvent.hash)
                .where(AuditEvent.instance_id.in_(list(cases)))
                .order_by(AuditEvent.instance_id, AuditEvent.seq).execution_options(yield_per=500))
            for e in events:
                cases[e.instance_id].events.append(
                    {"seq": e.seq, "at": e.at, "activity_id": e.activity_id, "activity_name": e.activity_name,
                     "transition": e.transition, "actor": e.actor, "role": e.role, "task_id": e.task_id,
                     "data": e.data or {}, "prev_hash": e.prev_hash, "hash": e.hash})
        for case in cases.values():
            annotate(case)
            yield case
        last = rows[-1].id
        if len(rows) < batch:
            return


def annotate(case: Case) -> None:
    """Add the XES lifecycle transition and the activity label to each event of a case."""
    claimed: set[str] = set()
    for ev in case.events:
        t = ev["transition"]
        if t == "claim":
            lc = "reassign" if ev["task_id"] in claimed else "assign"
            claimed.add(ev["task_id"])
        else:
            lc = _FIXED_LIFECYCLE.get(t, "unknown")
        ev["lifecycle"] = lc
        if t in INSTANCE_LEVEL:
            ev["activity"] = case.process_name
        else:
            ev["activity"] = ev["activity_name"] or ev["activity_id"] or t
        ev["role_name"] = roles.role_name(ev["role"]) if ev["role"] else None


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(timezone.utc).isoformat() if dt is not None else None


def _jsonable(value):
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


# ----------------------------------------------------------------------------- JSON
def case_json(case: Case) -> dict:
    return {
        "process_instance_id": case.id, "process_key": case.process_key, "process_name": case.process_name,
        "version": case.version, "business_key": case.business_key, "status": case.status,
        "starter": case.starter, "enterprise": case.enterprise, "enterprise_name": case.enterprise_name,
        "created_at": _iso(case.created_at), "ended_at": _iso(case.ended_at),
        "outcome": {"id": case.outcome_id, "name": case.outcome_name} if case.outcome_id else None,
        "events": [{
            "seq": e["seq"], "at": _iso(e["at"]), "activity_id": e["activity_id"],
            "activity_name": e["activity_name"], "activity": e["activity"], "transition": e["transition"],
            "lifecycle": e["lifecycle"], "actor": e["actor"], "role": e["role"], "role_name": e["role_name"],
            "task_id": e["task_id"], "data": _jsonable(e["data"]), "prev_hash": e["prev_hash"],
            "hash": e["hash"]} for e in case.events],
    }


def _dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def json_stream(cases: Iterable[Case], meta: dict | None = None) -> Iterator[str]:
    head = {"format": "siji-trace-json", "version": 1}
    head.update(meta or {})
    yield _dumps(head)[:-1] + ',"traces":['
    first = True
    for case in cases:
        yield ("" if first else ",") + "\n" + _dumps(case_json(case))
        first = False
    yield "\n]}\n"


# ----------------------------------------------------------------------------- CSV
CSV_COLUMNS = ["case_id", "process_key", "process_name", "process_version", "business_key", "enterprise",
               "enterprise_name", "case_status", "seq", "timestamp", "activity_id", "activity", "transition",
               "lifecycle", "actor", "role", "role_name", "task_id", "data", "prev_hash", "hash"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value) -> str:
    """Text of one CSV cell; a cell a spreadsheet would run as a formula gets a leading quote."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    if text.startswith(_FORMULA_START):
        return "'" + text
    return text


def csv_stream(cases: Iterable[Case], bom: bool = True) -> Iterator[str]:
    """UTF-8 with a byte order mark (so spreadsheets read the Chinese text), a header, one row per
    event."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    yield ("\ufeff" if bom else "") + buf.getvalue()
    for case in cases:
        buf.seek(0)
        buf.truncate()
        for e in case.events:
            writer.writerow([_cell(v) for v in (
                case.id, case.process_key, case.process_name, case.version, case.business_key, case.enterprise,
                case.enterprise_name, case.status, e["seq"], _iso(e["at"]), e["activity_id"], e["activity"],
                e["transition"], e["lifecycle"], e["actor"], e["role"], e["role_name"], e["task_id"],
                _dumps(_jsonable(e["data"])), e["prev_hash"], e["hash"])])
        yield buf.getvalue()


# ----------------------------------------------------------------------------- XES
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
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;"))


def _xes_time(dt: datetime) -> str:
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+00:00"


def _s(key: str, value) -> str:
    return f'<string key="{key}" value="{_attr(value)}"/>'


def event_uuid(event_hash: str) -> str:
    return str(uuid.UUID(hex=event_hash[:32]))


def case_uuid(case_id: int) -> str:
    return str(uuid.uuid5(TRACE_NAMESPACE, f"siji:process-instance:{case_id}"))


def xes_stream(cases: Iterable[Case], meta: dict | None = None) -> Iterator[str]:
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n',
           '<!-- IEEE 1849-2016 XES, exported by siji (四即模式流程再造) -->\n',
           '<log xes.version="1849.2016">\n']
    for name, prefix, uri in XES_EXTENSIONS:
        out.append(f'  <extension name="{name}" prefix="{prefix}" uri="{uri}"/>\n')
    out.append('  <global scope="trace">' + _s("concept:name", "__INVALID__")
               + '<id key="identity:id" value="00000000-0000-0000-0000-000000000000"/></global>\n')
    out.append('  <global scope="event">' + _s("concept:name", "__INVALID__")
               + '<date key="time:timestamp" value="1970-01-01T00:00:00.000+00:00"/>'
               + _s("lifecycle:transition", "complete") + _s("org:resource", "__INVALID__")
               + _s("org:role", "__INVALID__")
               + '<id key="identity:id" value="00000000-0000-0000-0000-000000000000"/></global>\n')
    out.append('  <classifier name="Activity" scope="event" keys="concept:name"/>\n')
    out.append('  <classifier name="Activity_Lifecycle" scope="event" keys="concept:name lifecycle:transition"/>\n')
    out.append('  ' + _s("concept:name", "siji 审计轨迹 / siji audit trail") + "\n")
    out.append('  ' + _s("lifecycle:model", "standard") + "\n")
    for k, v in (meta or {}).items():
        if v is not None and re.fullmatch(r"[A-Za-z_][\w.-]*", k):
            out.append("  " + _s(f"export.{k}", v) + "\n")
    yield "".join(out)
    for case in cases:
        parts = ["  <trace>", _s("concept:name", case.id), f'<id key="identity:id" value="{case_uuid(case.id)}"/>',
                 _s("process_key", case.process_key), _s("process_name", case.process_name),
                 f'<int key="process_version" value="{case.version}"/>', _s("status", case.status)]
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
                "    <event>" + _s("concept:name", e["activity"])
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
                + (_s("data", _dumps(_jsonable(e["data"]))) if e["data"] else "")
                + _s("hash", e["hash"]) + "</event>\n")
        parts.append("  </trace>\n")
        yield "".join(parts)
    yield "</log>\n"


# ----------------------------------------------------------------------------- OCEL 2.0
def _ocel_time(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat()


def ocel_event_type(e: dict) -> str:
    return e["activity"] if e["lifecycle"] == "complete" else f'{e["activity"]} ({e["lifecycle"]})'


def ocel_stream(cases: Iterable[Case], meta: dict | None = None) -> Iterator[str]:
    """OCEL 2.0 JSON: events stream first; objects and types follow (key order does not matter in
    JSON) so only the object set, not the events, is held while streaming."""
    objects: dict[str, dict] = {}
    event_types: dict[str, dict[str, str]] = {}
    yield '{"events":['
    first = True
    for case in cases:
        case_oid = f"case:{case.id}"
        rel_case = [{"objectId": case_oid, "qualifier": "case"}]
        related = []
        if case.enterprise:
            ent_oid = f"enterprise:{case.enterprise}"
            related.append({"objectId": ent_oid, "qualifier": "enterprise"})
            objects.setdefault(ent_oid, {"id": ent_oid, "type": "enterprise", "attributes": [
                {"name": "name", "time": _ocel_time(case.created_at), "value": case.enterprise_name or case.enterprise},
                {"name": "username", "time": _ocel_time(case.created_at), "value": case.enterprise}],
                "relationships": []})
        if case.business_key:
            bk_oid = f"permit_or_project:{case.business_key}"
            related.append({"objectId": bk_oid, "qualifier": "permit/project"})
            objects.setdefault(bk_oid, {"id": bk_oid, "type": "permit_or_project", "attributes": [
                {"name": "business_key", "time": _ocel_time(case.created_at), "value": case.business_key}],
                "relationships": []})
        case_attrs = [
            {"name": "process_key", "time": _ocel_time(case.created_at), "value": case.process_key},
            {"name": "process_version", "time": _ocel_time(case.created_at), "value": case.version},
            {"name": "status", "time": _ocel_time(case.created_at), "value": "running"}]
        if case.status != "running":
            case_attrs.append({"name": "status", "time": _ocel_time(case.ended_at or case.created_at),
                               "value": case.status})
        if case.outcome_id:
            case_attrs.append({"name": "outcome", "time": _ocel_time(case.ended_at or case.created_at),
                               "value": case.outcome_name or case.outcome_id})
        objects[case_oid] = {"id": case_oid, "type": "case", "attributes": case_attrs,
                             "relationships": [dict(r) for r in related]}
        chunk = []
        for e in case.events:
            rels = rel_case + related
            if e["role"] and roles.BY_CODE.get(e["role"]) and roles.BY_CODE[e["role"]].department:
                dep_oid = f"department:{e['role']}"
                rels = rels + [{"objectId": dep_oid, "qualifier": "department"}]
                objects.setdefault(dep_oid, {"id": dep_oid, "type": "department", "attributes": [
                    {"name": "name", "time": "1970-01-01T00:00:00+00:00", "value": e["role_name"]},
                    {"name": "code", "time": "1970-01-01T00:00:00+00:00", "value": e["role"]}],
                    "relationships": []})
            attrs = {"lifecycle": e["lifecycle"], "transition": e["transition"], "seq": e["seq"],
                     "activity_id": e["activity_id"], "actor": e["actor"], "role": e["role"],
                     "task_id": e["task_id"], "hash": e["hash"]}
            if e["data"]:
                attrs["data"] = _dumps(_jsonable(e["data"]))
            etype = ocel_event_type(e)
            declared = event_types.setdefault(etype, {})
            ev_attrs = []
            for k, v in attrs.items():
                if v is None:
                    continue
                declared.setdefault(k, "integer" if isinstance(v, int) else "string")
                ev_attrs.append({"name": k, "value": v})
            chunk.append(("" if first and not chunk else ",") + "\n" + _dumps(
                {"id": f"{case.id}:{e['seq']}", "type": etype, "time": _ocel_time(e["at"]),
                 "attributes": ev_attrs, "relationships": rels}))
        if chunk:
            first = False
            yield "".join(chunk)
    yield "\n],\n\"objects\":[" + ",".join("\n" + _dumps(o) for o in objects.values()) + "\n],\n"
    object_types = [
        {"name": "case", "attributes": [{"name": "process_key", "type": "string"},
                                        {"name": "process_version", "type": "integer"},
                                        {"name": "status", "type": "string"},
                                        {"name": "outcome", "type": "string"}]},
        {"name": "enterprise", "attributes": [{"name": "name", "type": "string"},
                                              {"name": "username", "type": "string"}]},
        {"name": "permit_or_project", "attributes": [{"name": "business_key", "type": "string"}]},
        {"name": "department", "attributes": [{"name": "name", "type": "string"},
                                              {"name": "code", "type": "string"}]},
    ]
    yield '"objectTypes":' + _dumps(object_types) + ',\n"eventTypes":' + _dumps(
        [{"name": t, "attributes": [{"name": k, "type": v} for k, v in attrs.items()]}
         for t, attrs in event_types.items()]) + "\n}\n"


# ----------------------------------------------------------------------------- dispatch
def stream(fmt: str, cases: Iterable[Case], meta: dict | None = None) -> Iterator[str]:
    if fmt == "json":
        return json_stream(cases, meta)
    if fmt == "csv":
        return csv_stream(cases)
    if fmt == "xes":
        return xes_stream(cases, meta)
    if fmt == "ocel":
        return ocel_stream(cases, meta)
    raise FilterError(fmt)


def single_trace(fmt: str, case: Case) -> Iterator[str]:
    """One case: a bare trace object for JSON, a one-trace log for XES, rows for CSV."""
    if fmt == "json":
        return iter([_dumps(case_json(case))])
    return stream(fmt, [case], {"process_instance_id": case.id})


# ----------------------------------------------------------------------------- CLI
class _Progress:
    def __init__(self, total: int, out=None, width: int = 30):
        self.total, self.out, self.width = total, out or sys.stderr, width
        self.done = 0
        self.events = 0
        self._shown = -1

    def step(self, case: Case) -> None:
        self.done += 1
        self.events += len(case.events)
        pct = int(self.done * 100 / self.total) if self.total else 100
        if pct != self._shown or self.done == self.total:
            self._shown = pct
            self.draw()

    def draw(self) -> None:
        filled = int(self.width * (self.done / self.total)) if self.total else self.width
        bar = "#" * filled + "-" * (self.width - filled)
        self.out.write(f"\r导出 exporting [{bar}] {self.done}/{self.total} 案件 cases, {self.events} 事件 events")
        self.out.flush()

    def finish(self) -> None:
        self.draw()
        self.out.write("\n")
        self.out.flush()


def export_cli(service, args) -> int:
    """``siji export --format xes --process-key K --from D --to D --status S -o FILE``."""
    fmt = getattr(args, "format", "xes")
    try:
        flt = TraceFilter(process_key=getattr(args, "process_key", None),
                          start=parse_bound(getattr(args, "from_", None)),
                          end=parse_bound(getattr(args, "to", None), end=True),
                          status=getattr(args, "status", None))
    except FilterError as e:
        print(f"error: not a date or datetime: {e}", file=sys.stderr)
        return 2
    total = count_cases(service.db, flt)
    progress = _Progress(total)

    def cases():
        for case in iter_cases(service.db, flt):
            progress.step(case)
            yield case

    meta = dict(flt.as_dict(), exported_at=_iso(service.now()))
    target = getattr(args, "output", "-") or "-"
    if target == "-":
        out = sys.stdout.buffer
        close = False
    else:
        out = open(target, "wb")
        close = True
    try:
        for chunk in stream(fmt, cases(), meta):
            out.write(chunk.encode("utf-8"))
        out.flush()
    finally:
        if close:
            out.close()
    progress.finish()
    return 0
