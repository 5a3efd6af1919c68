"""``siji simulate``: N synthetic cases of a flow through the real engine; JSON, CSV and plots.

    siji simulate PROCESS_OR_FILE --cases N [--settings FILE] --out DIR [--seed S]

PROCESS_OR_FILE is a process key (bpmn/<key>.bpmn with forms/<key>/) or a .bpmn file; with
--deployed [--version V] a key of a flow deployed in the service's database. Without --settings,
bpmn/simulation/<key>.json is used when it exists, else the built-in defaults.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from engine.settings import Settings as ServiceSettings
from engine.settings import SettingsError as ServiceSettingsError
from engine.simulation.distributions import SettingsError
from engine.simulation.formdata import FormDataError
from engine.simulation.parallel import simulate_replications
from engine.simulation.process import ROOT, ProcessNotFound, compile_process, deployed_process
from engine.simulation.runner import SimulationError
from engine.simulation.settings import Settings, load


def add_parser(subparsers) -> None:
    p = subparsers.add_parser("simulate", help="lead-time simulation of a flow on the real engine (docs/SIMULATION.md)")
    p.add_argument(
        "process",
        metavar="PROCESS_OR_FILE",
        help="process key (bpmn/<key>.bpmn, or with --deployed the flow deployed in the service) or a .bpmn file",
    )
    p.add_argument(
        "--deployed",
        action="store_true",
        help="simulate the version deployed in the service's database (SIJI_DATABASE_URL, default the "
        "instance's SQLite file; read only) instead of the repository's file",
    )
    p.add_argument("--version", type=int, default=None, help="with --deployed: this version (default the latest)")
    p.add_argument("--cases", type=int, default=1000, help="number of simulated cases (default 1000)")
    p.add_argument("--settings", help="simulation settings JSON (default bpmn/simulation/<key>.json)")
    p.add_argument("--out", required=True, help="output folder for simulation.json, *.csv and plots")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-plots", action="store_true", help="JSON and CSV only")
    p.add_argument(
        "--calibrate-from-trace",
        metavar="TRACE_JSON",
        help="fit lognormal service times per task to a JSON trace (siji export --format json) and "
        "write <key>.calibrated.json in --out instead of simulating",
    )
    p.add_argument(
        "--processes",
        type=int,
        default=None,
        help="worker processes for the replications (default: CPU count); the results do not depend on it",
    )
    p.add_argument(
        "--replications",
        type=int,
        default=None,
        help="independent replications the cases are split into (default: one per 500 cases, at most 16)",
    )
    p.set_defaults(func=run)


def settings_for(key: str, path: str | None) -> tuple[Settings, str | None]:
    if path:
        return load(path), path
    default = ROOT / "bpmn" / "simulation" / f"{key}.json"
    if default.is_file():
        return load(default), str(default.relative_to(ROOT))
    return Settings(), None


def run(args) -> int:
    for name in ("cases", "processes", "replications"):
        v = getattr(args, name)
        if v is not None and v < 1:
            print(f"--{name} 须为正整数 / must be a positive integer", file=sys.stderr)
            return 2
    if args.version is not None and not args.deployed:
        print("--version 须与 --deployed 同用 / --version goes with --deployed", file=sys.stderr)
        return 2
    out = Path(args.out)
    try:
        if args.deployed:
            compiled, version = deployed_process(ServiceSettings.from_env().db_url, args.process, args.version)
            source = {"deployed_version": version}
        else:
            compiled = compile_process(args.process)
            source = {"file": args.process if args.process.endswith(".bpmn") else f"bpmn/{args.process}.bpmn"}
        if args.calibrate_from_trace:
            return _calibrate(compiled, args, out)
        settings, used = settings_for(compiled.key, args.settings)
        t0 = time.perf_counter()
        result = simulate_replications(compiled, settings, args.cases, args.seed, args.processes, args.replications)
        elapsed = time.perf_counter() - t0
    except (SettingsError, ServiceSettingsError, FormDataError, ProcessNotFound, SimulationError) as e:
        print(f"siji simulate: {e}", file=sys.stderr)
        return 2
    written = result.write(
        out,
        {
            "diagram": source,
            "settings_file": used,
            "seed": args.seed,
            "cases_per_second": round(args.cases / elapsed, 1),
        },
    )
    d = result.as_dict(include_cases=False)
    lt = d["lead_time"]
    print(
        f"{compiled.key}{f' v{version}' if args.deployed else ''}: {args.cases} cases in {elapsed:.1f} s ({args.cases / elapsed:.0f}/s); "
        f"lead time median {lt['working_days']['median']} / p90 {lt['working_days']['p90']} working days, "
        f"median {lt['calendar_days']['median']} calendar days"
    )
    if not args.no_plots:
        try:
            from engine.simulation import plots

            full = result.as_dict()
            written += plots.lead_time_histogram(full, out) + plots.waiting_working(full, out)
        except plots.PlotsUnavailable as e:
            print(f"siji simulate: {e}; JSON and CSV written", file=sys.stderr)
    for p in written:
        print(p)
    return 0


def _calibrate(compiled, args, out: Path) -> int:
    import json

    from engine.simulation.calibrate import TraceError, calibrate

    base_path = Path(args.settings) if args.settings else ROOT / "bpmn" / "simulation" / f"{compiled.key}.json"
    base = json.loads(base_path.read_text(encoding="utf-8")) if base_path.is_file() else {}
    try:
        settings = calibrate(args.calibrate_from_trace, compiled.key, compiled.tasks, base)
    except TraceError as e:
        print(f"siji simulate: {e}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{compiled.key}.calibrated.json"
    path.write_text(json.dumps(settings, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for aid, c in settings["_doc_calibration"]["tasks"].items():
        print(f"{aid}: n={c['n']} mean {c['mean_hours']} h -> {json.dumps(settings['service']['tasks'][aid])}")
    print(path)
    return 0


def main(argv=None) -> int:  # python -m engine.simulation.cli
    import argparse

    parser = argparse.ArgumentParser(prog="siji")
    add_parser(parser.add_subparsers(dest="cmd", required=True))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
