"""``siji export``: a log of any size to a file or standard output, with progress."""

from __future__ import annotations

import sys

from engine.audit.export.cases import Case, FilterError, TraceFilter, count_cases, iter_cases, parse_bound, utc_iso
from engine.audit.export.formats import stream


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
        flt = TraceFilter(
            process_key=getattr(args, "process_key", None),
            start=parse_bound(getattr(args, "from_", None)),
            end=parse_bound(getattr(args, "to", None), end=True),
            status=getattr(args, "status", None),
        )
    except FilterError as e:
        print(f"error: not a date or datetime: {e}", file=sys.stderr)
        return 2
    total = count_cases(service.db, flt)
    progress = _Progress(total)

    def cases():
        for case in iter_cases(service.db, flt):
            progress.step(case)
            yield case

    meta = dict(flt.as_dict(), exported_at=utc_iso(service.now()))
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
