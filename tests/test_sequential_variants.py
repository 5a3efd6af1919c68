"""The sequential (pre-reform) variants bpmn/simulation/sequential/<key>.bpmn must follow the reform
diagrams: a reform diagram reworked without its variant fails here, not silently in the
before/after figures (docs/SIMULATION.md)."""

from __future__ import annotations

import pytest

from engine.simulation.before_after import FLOWS, PLAN_EXCEPTIONS, task_differences
from engine.simulation.cli import settings_for
from engine.simulation.process import ROOT, compile_process
from engine.simulation.runner import Simulation


def _variant(key: str):
    # the simulator's compile path: the service's own deploy step with the flow's forms
    return compile_process(str(ROOT / "bpmn" / "simulation" / "sequential" / f"{key}.bpmn"))


@pytest.mark.parametrize("key", FLOWS)
def test_variant_has_the_reform_user_tasks(key):
    reform, variant = compile_process(key), _variant(key)
    assert variant.key == reform.key  # it reuses forms/<key>/ and the settings file
    diff = task_differences(reform, variant)
    assert diff["only_variant"] == [], "tasks the reform diagram no longer has: re-derive the variant"
    assert diff["changed"] == [], "tasks in another lane or with another form than in the reform diagram"
    assert set(diff["only_reform"]) == set(PLAN_EXCEPTIONS.get(key, {})), (
        "reform tasks missing from the variant (or an exception no longer needed): see docs/SIMULATION.md"
    )


@pytest.mark.parametrize("key", FLOWS)
def test_variant_runs_with_the_flow_settings(key):
    """The settings file is checked against the variant too (a stale task or flow id is refused),
    and every simulated case of the variant reaches an end event."""
    settings, _ = settings_for(key, None)
    sim = Simulation(_variant(key), settings, 3)
    sim.run(25)
    assert [c.no for c in sim.cases if c.ended is None] == []


def test_variant_is_not_the_reform_diagram():
    """Each variant changes the order somewhere: its sequence flows differ from the reform's."""

    def flows(c):
        return {(e["source"], e["target"]) for e in c.elements.values() if e.get("type") == "sequenceFlow"}

    for key in FLOWS:
        assert flows(compile_process(key)) != flows(_variant(key)), key


def test_early_exits_are_end_events_of_both_diagrams():
    """The before/after figures leave out cases ending at these events: a renamed end event would
    silently put them back in."""
    from engine.simulation.before_after import EARLY_EXITS

    for key, exits in EARLY_EXITS.items():
        for compiled in (compile_process(key), _variant(key)):
            ends = {i for i, e in compiled.elements.items() if e.get("type") == "endEvent"}
            assert exits <= ends, (key, sorted(exits - ends))
