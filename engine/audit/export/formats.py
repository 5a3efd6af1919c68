"""One entry for every format: a stream of text chunks."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from engine.audit.export.cases import Case, FilterError
from engine.audit.export.json_csv import _dumps, case_json, csv_stream, json_stream
from engine.audit.export.ocel import ocel_stream
from engine.audit.export.xes import xes_stream


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
