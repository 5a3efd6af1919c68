"""Before and after (issue 18, item 2): each flow's reform diagram (bpmn/<key>.bpmn) and its
sequential pre-reform variant (bpmn/simulation/sequential/<key>.bpmn) simulated with the same
settings (bpmn/simulation/<key>.json), cases and seed; one plot per flow (docs/img/sim-<key>.png)
and the figures table of docs/SIMULATION.md, rewritten between its marker comments.

    tools/simulate-before-after [--cases N] [--seed S] [--processes P] [--flows a,b]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from engine.simulation.parallel import simulate_replications
from engine.simulation.process import ROOT, compile_process
from engine.simulation.results import percentile
from engine.simulation.settings import Settings, load

FLOWS = ("business_opening", "land_to_construction", "completion_acceptance", "enterprise_call")
# User tasks a reform diagram may have that its sequential variant has not, each because of a step
# the plan's reordering itself created (docs/SIMULATION.md): anything else is drift.
PLAN_EXCEPTIONS: dict[str, dict[str, str]] = {
    "land_to_construction": dict.fromkeys(
        (
            "Task_EscalateConstructionPermit",
            "Task_EscalateConstructionPlanningPermit",
            "Task_EscalateLandUsePlanningPermit",
            "Task_EscalateRealEstateCertificate",
        ),
        "督办 when a certificate is not issued on the signing day: the same-day issue (多证齐发) is the reform's",
    ),
}
# End events where a case leaves the flow before its work is done (not applicable, project not
# confirmed, land not won): such a case says nothing about the order of the steps, so the figures
# leave it out (and say how many they left out).
EARLY_EXITS: dict[str, frozenset[str]] = {
    "land_to_construction": frozenset({"End_OrdinaryProcedure", "End_ProjectNotConfirmed", "End_LandNotAcquired"}),
}
BEGIN, END = "<!-- before-after:begin (tools/simulate-before-after writes this table) -->", "<!-- before-after:end -->"


def task_differences(reform, variant) -> dict[str, list[str]]:
    """User tasks one diagram has and the other has not, or has in another lane or with another
    form: the variant must reuse the reform's tasks so both draw the same service times."""
    a, b = reform.tasks, variant.tasks
    return {
        "only_reform": sorted(set(a) - set(b)),
        "only_variant": sorted(set(b) - set(a)),
        "changed": sorted(t for t in set(a) & set(b) if (a[t].role, a[t].form_key) != (b[t].role, b[t].form_key)),
    }


def compare(
    key: str, cases: int, seed: int, processes: int | None, replications: int | None, root: Path = ROOT
) -> dict:
    reform = compile_process(key, root)
    variant = compile_process(str(root / "bpmn" / "simulation" / "sequential" / f"{key}.bpmn"), root)
    path = root / "bpmn" / "simulation" / f"{key}.json"
    settings = load(path) if path.is_file() else Settings()
    out = {
        "key": key,
        "cases": cases,
        "seed": seed,
        "settings_file": str(path.relative_to(root)) if path.is_file() else None,
        "tasks": task_differences(reform, variant),
    }
    for label, compiled in (("before", variant), ("after", reform)):
        t0 = time.perf_counter()
        res = simulate_replications(compiled, settings, cases, seed, processes, replications).as_dict()
        exits = EARLY_EXITS.get(key, frozenset())
        ended = [r for r in res["case_rows"] if r["lead_working_days"] is not None]
        days = [r["lead_working_days"] for r in ended if r["outcome"] not in exits]
        out[label] = {
            "lead_working_days": days,
            "completed": len(days),
            "early_exits": len(ended) - len(days),
            "median": percentile(days, 0.5),
            "p90": percentile(days, 0.9),
            "calendar_median": res["lead_time"]["calendar_days"]["median"],
            "seconds": round(time.perf_counter() - t0, 1),
        }
        out["name"] = res["process_name"]
    return out


def _cut(before: float | None, after: float | None) -> str:
    if not before or after is None:
        return "–"
    return f"{before - after:.1f} ({(before - after) / before:.0%})"


def table(rows: list[dict], cases: int, seed: int) -> str:
    lines = [
        f"Produced by `tools/simulate-before-after --cases {cases} --seed {seed}`: each diagram "
        f"{cases} cases, same settings and seed. Lead time in working days (start → end event).",
        "",
        "| 流程 / flow | 改革前 median / p90 | 改革后 median / p90 | 缩短 median | 缩短 p90 | plot |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        b, a = r["before"], r["after"]
        lines.append(
            f"| {r['name']} (`{r['key']}`) | {b['median']:.1f} / {b['p90']:.1f} | "
            f"{a['median']:.1f} / {a['p90']:.1f} | {_cut(b['median'], a['median'])} | "
            f"{_cut(b['p90'], a['p90'])} | [sim-{r['key']}.png](img/sim-{r['key']}.png) |"
        )
    notes = [
        f"* `{r['key']}`: cases that left the flow early ({', '.join(sorted(EARLY_EXITS[r['key']]))}) are "
        f"not in the figures: {r['before']['early_exits']} before, {r['after']['early_exits']} after"
        for r in rows
        if r["key"] in EARLY_EXITS
    ]
    for r in rows:
        known = PLAN_EXCEPTIONS.get(r["key"], {})
        explained = [t for t in r["tasks"]["only_reform"] if t in known]
        drift = [t for t in r["tasks"]["only_reform"] if t not in known]
        if explained:
            why = "; ".join(dict.fromkeys(known[t] for t in explained))
            notes.append(f"* `{r['key']}`: tasks only in the reform diagram, by design ({why}): {', '.join(explained)}")
        if drift:
            notes.append(
                f"* `{r['key']}`: **tasks only in the reform diagram: {', '.join(drift)}** "
                "(not explained by the plan: update the variant)"
            )
    notes += [
        f"* `{r['key']}`: **tasks only in the sequential variant: {', '.join(r['tasks']['only_variant'])}** "
        "(they have no counterpart in the reform diagram: update the variant)"
        for r in rows
        if r["tasks"]["only_variant"]
    ]
    notes += [
        f"* `{r['key']}`: **tasks in another lane or with another form: {', '.join(r['tasks']['changed'])}**"
        for r in rows
        if r["tasks"]["changed"]
    ]
    return "\n".join(lines + ([""] + notes if notes else []))


def write_doc(doc: Path, text: str) -> None:
    body = doc.read_text(encoding="utf-8")
    if BEGIN not in body or END not in body:
        raise SystemExit(f"{doc}: marker comments missing ({BEGIN} … {END})")
    head, rest = body.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    doc.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}", encoding="utf-8")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="tools/simulate-before-after", description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--processes", type=int, default=None)
    ap.add_argument("--replications", type=int, default=None)
    ap.add_argument("--flows", default=",".join(FLOWS))
    ap.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    from engine.simulation import plots

    rows = []
    for key in [k.strip() for k in args.flows.split(",") if k.strip()]:
        r = compare(key, args.cases, args.seed, args.processes, args.replications, args.root)
        png = plots.before_after(
            key,
            r["name"],
            r["before"]["lead_working_days"],
            r["after"]["lead_working_days"],
            args.root / "docs" / "img" / f"sim-{key}",
        )
        b, a = r["before"], r["after"]
        print(
            f"{key}: before median {b['median']:.1f} p90 {b['p90']:.1f}, after median {a['median']:.1f} "
            f"p90 {a['p90']:.1f} working days ({b['seconds'] + a['seconds']:.0f} s) -> {png[0]}"
        )
        rows.append(r)
    summary = [
        {k: v for k, v in r.items() if k not in ("before", "after")}
        | {s: {k: v for k, v in r[s].items() if k != "lead_working_days"} for s in ("before", "after")}
        for r in rows
    ]
    (args.root / "docs" / "img" / "sim-before-after.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    write_doc(args.root / "docs" / "SIMULATION.md", table(rows, args.cases, args.seed))
    print("docs/SIMULATION.md: table rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
