"""Independent replications, run in worker processes (``siji simulate --processes N``).

N cases are split into R replications, R fixed by the case count and never by the number of
processes: replication r simulates its share of the cases from the settings' start with its own
seed (r = 0 keeps the run's seed, so one replication is exactly the single-process run). The
parent merges the replications in their order (results.SimulationResult.merge), so the figures
are the same whichever process ran which replication and however many processes there were.

Workers are forked where the platform allows it (the compiled diagram and settings are inherited,
no re-import), spawned otherwise (both are picklable).
"""

from __future__ import annotations

import multiprocessing as mp
import os

from engine.simulation.results import Part, SimulationResult
from engine.simulation.settings import Settings
from engine.workdays import WorkdayCalendar
from engine.workflow.deploy import CompiledProcess

CASES_PER_REPLICATION = 500
MAX_REPLICATIONS = 16


def default_replications(n_cases: int) -> int:
    return max(1, min(MAX_REPLICATIONS, n_cases // CASES_PER_REPLICATION))


def plan(n_cases: int, seed: int, replications: int) -> list[tuple[int, int]]:
    """(seed, cases) of each replication: cases as even as possible, seeds derived from the run's."""
    r = max(1, min(replications, n_cases))
    base, extra = divmod(n_cases, r)
    return [(seed if i == 0 else (seed * 1_000_003 + i * 7_919) % (2**61 - 1), base + (i < extra)) for i in range(r)]


_job: tuple | None = None  # (compiled, settings, calendar) of a worker: set once, reused per task


def _init(compiled: CompiledProcess, settings: Settings, calendar: WorkdayCalendar | None) -> None:
    global _job
    _job = (compiled, settings, calendar)


def _replicate(task: tuple[int, int]) -> Part:
    from engine.simulation.runner import Simulation

    compiled, settings, calendar = _job
    seed, n = task
    sim = Simulation(compiled, settings, seed, calendar)
    sim.run(n, result=False)
    return sim.part


def simulate_replications(
    compiled: CompiledProcess,
    settings: Settings,
    n_cases: int,
    seed: int = 1,
    processes: int | None = None,
    replications: int | None = None,
    calendar: WorkdayCalendar | None = None,
) -> SimulationResult:
    from engine.simulation.runner import Simulation

    # built first: a settings error is raised here, in this process, not inside a worker
    probe = Simulation(compiled, settings, seed, calendar)
    tasks = plan(n_cases, seed, replications or default_replications(n_cases))
    procs = max(1, min(processes or os.cpu_count() or 1, len(tasks)))
    if procs == 1:
        _init(compiled, settings, calendar)
        parts = [_replicate(t) for t in tasks]
    else:
        method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
        with mp.get_context(method).Pool(procs, _init, (compiled, settings, calendar)) as pool:
            parts = pool.map(_replicate, tasks, chunksize=1)  # map keeps the replications' order
    return SimulationResult.merge(probe.pv, settings, probe.worktime, parts)
