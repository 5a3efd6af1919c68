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

from engine.audit.export.cases import (
    CHINA,
    EXTENSIONS,
    FORMATS,
    MEDIA_TYPES,
    Case,
    FilterError,
    TraceFilter,
    count_cases,
    iter_cases,
    parse_bound,
    utc_iso,
)
from engine.audit.export.cli import export_cli
from engine.audit.export.formats import single_trace, stream
from engine.audit.export.json_csv import case_json

__all__ = [
    "CHINA",
    "EXTENSIONS",
    "FORMATS",
    "MEDIA_TYPES",
    "Case",
    "FilterError",
    "TraceFilter",
    "count_cases",
    "iter_cases",
    "parse_bound",
    "utc_iso",
    "export_cli",
    "single_trace",
    "stream",
    "case_json",
]
