"""JSON and CSV writers (CSV cells that a spreadsheet would run as formulas are quoted)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from engine.audit.export.cases import Case, jsonable, utc_iso


def case_json(case: Case) -> dict:
    return {
        "process_instance_id": case.id,
        "process_key": case.process_key,
        "process_name": case.process_name,
        "version": case.version,
        "business_key": case.business_key,
        "status": case.status,
        "starter": case.starter,
        "enterprise": case.enterprise,
        "enterprise_name": case.enterprise_name,
        "created_at": utc_iso(case.created_at),
        "ended_at": utc_iso(case.ended_at),
        "outcome": {"id": case.outcome_id, "name": case.outcome_name} if case.outcome_id else None,
        "events": [
            {
                "seq": e["seq"],
                "at": utc_iso(e["at"]),
                "activity_id": e["activity_id"],
                "activity_name": e["activity_name"],
                "activity": e["activity"],
                "transition": e["transition"],
                "lifecycle": e["lifecycle"],
                "actor": e["actor"],
                "role": e["role"],
                "role_name": e["role_name"],
                "task_id": e["task_id"],
                "data": jsonable(e["data"]),
                "prev_hash": e["prev_hash"],
                "hash": e["hash"],
            }
            for e in case.events
        ],
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


CSV_COLUMNS = [
    "case_id",
    "process_key",
    "process_name",
    "process_version",
    "business_key",
    "enterprise",
    "enterprise_name",
    "case_status",
    "seq",
    "timestamp",
    "activity_id",
    "activity",
    "transition",
    "lifecycle",
    "actor",
    "role",
    "role_name",
    "task_id",
    "data",
    "prev_hash",
    "hash",
]
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
            writer.writerow(
                [
                    _cell(v)
                    for v in (
                        case.id,
                        case.process_key,
                        case.process_name,
                        case.version,
                        case.business_key,
                        case.enterprise,
                        case.enterprise_name,
                        case.status,
                        e["seq"],
                        utc_iso(e["at"]),
                        e["activity_id"],
                        e["activity"],
                        e["transition"],
                        e["lifecycle"],
                        e["actor"],
                        e["role"],
                        e["role_name"],
                        e["task_id"],
                        _dumps(jsonable(e["data"])),
                        e["prev_hash"],
                        e["hash"],
                    )
                ]
            )
        yield buf.getvalue()
