"""Lead-time simulation (issue 18): small diagrams whose lead time is known analytically, run
through the real engine on the simulated clock and the Chinese working-day calendar."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from engine.simulation.distributions import SettingsError
from engine.simulation.formdata import FormDataError
from engine.simulation.process import compile_process
from engine.simulation.runner import Simulation, simulate
from engine.simulation.settings import parse

DATA = Path(__file__).parent / "data" / "sim"
HOUR = 3600.0
EIGHT_HOURS = [["09:00", "17:00"]]


def _run(name: str, settings: dict, n: int = 1, seed: int = 1):
    base = {
        "working_hours": EIGHT_HOURS,
        "default_capacity": 1,
        "arrivals": {"interarrival_hours": {"fixed": 0}, "working_time": True},
    }
    base.update(settings)
    sim = Simulation(compile_process(str(DATA / f"{name}.bpmn")), parse(base), seed)
    return sim, sim.run(n)


def _china(t: float) -> str:
    return (
        datetime.fromtimestamp(t)
        .astimezone(datetime.fromisoformat("2025-01-01T00:00:00+08:00").tzinfo)
        .strftime("%Y-%m-%d %H:%M")
    )


def test_sequence_of_two_fixed_tasks_is_their_sum():
    sim, res = _run(
        "sim_seq",
        {
            "start": "2025-09-01T09:00:00+08:00",  # a Monday
            "service": {"tasks": {"Task_A": {"fixed": 2}, "Task_B": {"fixed": 3}}},
        },
    )
    case = sim.cases[0]
    assert case.outcome["id"] == "End_Done"
    assert case.ended - case.arrived == pytest.approx(5 * HOUR)
    lt = res.figures["lead_time"]
    assert lt["calendar_days"]["median"] == pytest.approx(5 / 24, abs=1e-3)
    assert lt["working_days"]["median"] == pytest.approx(5 / 8, abs=1e-3)
    acts = {a["activity_id"]: a for a in res.figures["activities"]}
    assert acts["Task_A"]["working_hours"]["mean"] == pytest.approx(2)
    assert acts["Task_B"]["working_hours"]["mean"] == pytest.approx(3)
    assert acts["Task_A"]["waiting_hours"]["mean"] == 0 and acts["Task_B"]["waiting_hours"]["mean"] == 0


def test_parallel_split_of_two_is_the_max():
    sim, res = _run(
        "sim_par",
        {"start": "2025-09-01T09:00:00+08:00", "service": {"tasks": {"Task_A": {"fixed": 2}, "Task_B": {"fixed": 5}}}},
    )
    assert sim.cases[0].ended - sim.cases[0].arrived == pytest.approx(5 * HOUR)


def test_timer_fires_on_the_simulated_clock():
    # days_after(3) from Monday 09:00 is Thursday 09:00; then one hour of work
    sim, res = _run("sim_timer", {"start": "2025-09-01T09:00:00+08:00", "service": {"default": {"fixed": 1}}})
    case = sim.cases[0]
    assert case.ended - case.arrived == pytest.approx(3 * 24 * HOUR + HOUR)
    assert [tid for tid, _ in case.timers_fired] == ["Wait"]
    assert res.figures["timers_fired"] == [{"timer_id": "Wait", "timer_name": "公示期满", "fired": 1}]


def test_working_days_across_national_day_and_a_make_up_saturday():
    # 2025: 1-8 October off; Saturday 11 October is a make-up working day (调休). Two tasks of two
    # working days each, from Tuesday 30 September 09:00: 30 Sep + 9 Oct, then 10 + 11 Oct.
    sim, res = _run(
        "sim_seq",
        {
            "start": "2025-09-30T09:00:00+08:00",
            "service": {"tasks": {"Task_A": {"fixed": 16}, "Task_B": {"fixed": 16}}},
        },
    )
    case = sim.cases[0]
    a, b = sorted(case.done, key=lambda r: r.end)
    assert _china(a.end) == "2025-10-09 17:00"
    assert _china(b.end) == "2025-10-11 17:00"
    row = res.figures["case_rows"][0]
    assert row["lead_working_days"] == pytest.approx(4.0)
    assert row["lead_calendar_days"] == pytest.approx(11 + 8 / 24, abs=1e-4)


def test_make_up_sunday_is_worked():
    # Sunday 28 September 2025 is a make-up working day: Friday's second task ends on it
    sim, _ = _run(
        "sim_seq",
        {"start": "2025-09-26T09:00:00+08:00", "service": {"tasks": {"Task_A": {"fixed": 8}, "Task_B": {"fixed": 8}}}},
    )
    ends = sorted(_china(r.end) for r in sim.cases[0].done)
    assert ends == ["2025-09-26 17:00", "2025-09-28 17:00"]


def test_fifo_queue_with_one_clerk_per_role():
    # two cases at once, one clerk each: case 2 waits 2 h for A, then 1 h for B (case 1's B
    # runs 11:00-14:00): lead 2 + 2 + 1 + 3 = 8 h
    sim, res = _run(
        "sim_seq",
        {"start": "2025-09-01T09:00:00+08:00", "service": {"tasks": {"Task_A": {"fixed": 2}, "Task_B": {"fixed": 3}}}},
        n=2,
    )
    leads = [c.ended - c.arrived for c in sim.cases]
    assert leads == [pytest.approx(5 * HOUR), pytest.approx(8 * HOUR)]
    acts = {a["activity_id"]: a for a in res.figures["activities"]}
    assert acts["Task_A"]["waiting_hours"]["max"] == pytest.approx(2)
    assert acts["Task_B"]["waiting_hours"]["max"] == pytest.approx(1)
    util = {r["role"]: r for r in res.roles}
    # 6 busy hours (two 3-hour tasks) of the tax bureau's one clerk over the 8 office hours 09:00-17:00
    assert util["tax_bureau"]["busy_hours"] == pytest.approx(6) and util["tax_bureau"]["utilisation"] == pytest.approx(
        6 / 8
    )


def test_branch_probabilities_and_field_generators():
    n = 2000
    _, res = _run(
        "sim_branch",
        {
            "branches": {"Flow_Yes": 0.3, "Flow_No": 0.7},
            "service": {"default": {"fixed": 0.01}},
            "default_capacity": 50,
        },
        n=n,
    )
    share = {o["id"]: o["count"] / n for o in res.figures["outcomes"]}
    assert share["End_Yes"] == pytest.approx(0.3, abs=0.04)
    _, res = _run(
        "sim_branch",
        {
            "fields": {"Task_A": {"approved": {"choice": [[True, 1], [False, 3]]}}},
            "service": {"default": {"fixed": 0.01}},
            "default_capacity": 50,
        },
        n=n,
    )
    share = {o["id"]: o["count"] / n for o in res.figures["outcomes"]}
    assert share["End_Yes"] == pytest.approx(0.25, abs=0.04)


def test_lognormal_service_times_have_the_given_median():
    _, res = _run(
        "sim_seq",
        {"service": {"default": {"lognormal": {"median": 2, "p90": 6}}}, "default_capacity": 1000},
        n=1500,
        seed=5,
    )
    acts = {a["activity_id"]: a for a in res.figures["activities"]}
    assert acts["Task_A"]["working_hours"]["median"] == pytest.approx(2, rel=0.15)


@pytest.mark.parametrize(
    "raw,path",
    [
        ({"nonsense": 1}, "nonsense"),
        (
            {"service": {"tasks": {"Task_A": {"lognormal": {"median": 5, "p90": 2}}}}},
            "service.tasks.Task_A.lognormal.p90",
        ),
        ({"service": {"default": {"gamma": {}}}}, "service.default"),
        ({"roles": {"nobody": {"capacity": 1}}}, "roles.nobody"),
        ({"roles": {"tax_bureau": {"capacity": 0}}}, "roles.tax_bureau.capacity"),
        ({"branches": {"Flow_Yes": 1.5}}, "branches.Flow_Yes"),
        ({"fields": {"Task_A": {"approved": {"choice": [[True, -1]]}}}}, "fields.Task_A.approved.choice.0"),
    ],
)
def test_bad_settings_name_the_entry(raw, path):
    with pytest.raises(SettingsError) as e:
        parse(raw)
    assert e.value.path == path


def test_settings_checked_against_the_process():
    with pytest.raises(SettingsError) as e:
        _run("sim_seq", {"service": {"tasks": {"Task_Nope": {"fixed": 1}}}})
    assert e.value.path == "service.tasks.Task_Nope"
    with pytest.raises(SettingsError) as e:
        _run("sim_branch", {"branches": {"F1": 0.5}})
    assert e.value.path == "branches.F1"
    with pytest.raises(FormDataError, match="Task_A"):
        _run("sim_branch", {"fields": {"Task_A": {"approved": {"value": "maybe"}}}})


@pytest.mark.parametrize(
    "key,n",
    [("business_opening", 60), ("land_to_construction", 40), ("completion_acceptance", 40), ("enterprise_call", 60)],
)
def test_real_flow_accelerated_equals_plain(key, n):
    """The map-based task queries (engine/spiff_fast.py) change nothing: same cases, same order."""
    from engine.simulation.cli import settings_for

    compiled = compile_process(key)

    def cases(accelerate):
        settings, _ = settings_for(key, None)
        sim = Simulation(compile_process(key), settings, 11, accelerate=accelerate)
        sim.run(n)
        return [
            (c.ended, (c.outcome or {}).get("id"), [(r.activity_id, r.ready, r.end, r.cancelled) for r in c.done])
            for c in sim.cases
        ]

    plain = cases(False)
    assert all(c[0] is not None for c in plain), f"{compiled.key}: every case should end"
    assert cases(True) == plain


def test_cli_writes_json_and_csv(tmp_path):
    from engine.cli.main import main

    settings = tmp_path / "s.json"
    settings.write_text(
        json.dumps(
            {
                "working_hours": EIGHT_HOURS,
                "start": "2025-09-01T09:00:00+08:00",
                "service": {"tasks": {"Task_A": {"fixed": 2}, "Task_B": {"fixed": 3}}},
                "arrivals": {"interarrival_hours": {"fixed": 8}},
            }
        )
    )
    out = tmp_path / "out"
    assert (
        main(
            [
                "simulate",
                str(DATA / "sim_seq.bpmn"),
                "--cases",
                "5",
                "--settings",
                str(settings),
                "--out",
                str(out),
                "--seed",
                "2",
            ]
        )
        == 0
    )
    d = json.loads((out / "simulation.json").read_text(encoding="utf-8"))
    assert d["process_key"] == "sim_seq" and d["completed"] == 5
    assert d["lead_time"]["working_days"]["median"] == pytest.approx(5 / 8, abs=1e-3)
    assert (out / "cases.csv").read_text(encoding="utf-8-sig").splitlines()[0].startswith("case,")
    assert (out / "lead_time.png").stat().st_size > 1000  # matplotlib is in the test extra


def test_cli_simulates_the_version_deployed_in_the_service(siji, tmp_path, monkeypatch, capsys):
    """``--deployed``: what the analyst uploaded (an API deployment, here a renamed task in
    version 2), read from the service's database — the latest or ``--version``."""
    from engine.cli.main import main

    siji.deploy_paths(DATA / "sim_seq.bpmn", DATA / "forms")
    v2 = tmp_path / "v2" / "sim_seq.bpmn"
    v2.parent.mkdir()
    v2.write_text(
        (DATA / "sim_seq.bpmn").read_text(encoding="utf-8").replace('name="受理"', 'name="受理（第二版）"'),
        encoding="utf-8",
    )
    siji.deploy_paths(v2, DATA / "forms")
    settings = tmp_path / "s.json"
    settings.write_text(
        json.dumps(
            {
                "working_hours": EIGHT_HOURS,
                "start": "2025-09-01T09:00:00+08:00",
                "service": {"tasks": {"Task_A": {"fixed": 2}, "Task_B": {"fixed": 3}}},
                "arrivals": {"interarrival_hours": {"fixed": 8}},
            }
        )
    )
    monkeypatch.setenv("SIJI_DATABASE_URL", siji.service.db.url)

    def simulate(*extra) -> dict:
        out = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
        args = ["simulate", "sim_seq", *extra, "--cases", "4", "--settings", str(settings), "--out", str(out)]
        assert main([*args, "--no-plots"]) == 0, capsys.readouterr().err
        return json.loads((out / "simulation.json").read_text(encoding="utf-8"))

    def names(d):
        return sorted(a["name"] for a in d["activities"])

    latest, first = simulate("--deployed"), simulate("--deployed", "--version", "1")
    assert names(latest) == ["受理（第二版）", "税务登记"] and names(first) == ["受理", "税务登记"]
    assert latest["lead_time"]["working_days"]["median"] == pytest.approx(5 / 8, abs=1e-3)
    assert latest["case_rows"] == first["case_rows"]  # only a name changed
    assert (latest["diagram"], first["diagram"]) == ({"deployed_version": 2}, {"deployed_version": 1})

    assert main(["simulate", "sim_seq", "--deployed", "--version", "3", "--out", str(tmp_path / "x")]) == 2
    assert "no deployed 'sim_seq' version 3" in capsys.readouterr().err
    assert main(["simulate", "sim_seq", "--version", "1", "--out", str(tmp_path / "x")]) == 2
    assert "--version goes with --deployed" in capsys.readouterr().err
    monkeypatch.setenv("SIJI_DATABASE_URL", f"sqlite:///{tmp_path / 'empty' / 'none.sqlite3'}")
    assert main(["simulate", "sim_seq", "--deployed", "--out", str(tmp_path / "x")]) == 2
    assert "cannot read deployed flows" in capsys.readouterr().err


def test_cli_refuses_bad_settings_with_the_entry(tmp_path, capsys):
    from engine.cli.main import main

    settings = tmp_path / "s.json"
    settings.write_text(json.dumps({"service": {"default": {"lognormal": {"median": 5, "p90": 1}}}}))
    assert (
        main(
            [
                "simulate",
                str(DATA / "sim_seq.bpmn"),
                "--cases",
                "1",
                "--settings",
                str(settings),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    assert "service.default.lognormal.p90" in capsys.readouterr().err


def test_replications_merge_the_same_whatever_the_number_of_processes():
    from engine.simulation.cli import settings_for
    from engine.simulation.parallel import plan, simulate_replications

    compiled = compile_process("business_opening")
    settings, _ = settings_for("business_opening", None)
    one = simulate_replications(compiled, settings, 90, seed=5, processes=1, replications=3).as_dict()
    two = simulate_replications(compiled, settings, 90, seed=5, processes=2, replications=3).as_dict()
    assert one == two and one["replications"] == 3 and one["cases"] == 90
    assert [s for s, _ in plan(90, 5, 3)][0] == 5 and len({s for s, _ in plan(90, 5, 3)}) == 3
    # one replication is exactly the single-process run of the same seed
    single = simulate(compiled, settings, 30, seed=5).as_dict()
    assert simulate_replications(compiled, settings, 30, seed=5, processes=2, replications=1).as_dict() == single
