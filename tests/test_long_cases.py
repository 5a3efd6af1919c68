"""A case whose loop has run hundreds of rounds (engine/spiff_depth.py): SpiffWorkflow 3.2 stops
walking its task tree at depth 1000, and the case would then count as completed with its next
round's task still open. Built on the real deployed bench loop (task → gateway → back)."""

from __future__ import annotations

from conftest import DATA
from SpiffWorkflow.util.task import TaskState

from engine.workflow.serializer import dump_workflow


def _ready_user_task(wf):
    # read off the task map, not get_tasks(): the builder must not depend on what is under test
    ready = [t for t in wf.tasks.values() if t.state == TaskState.READY and t.task_spec.manual]
    assert len(ready) == 1, f"{len(ready)} ready user tasks"
    return ready[0]


def test_a_loop_past_depth_1000_keeps_running_and_ends_when_told(siji_sqlite):
    siji = siji_sqlite
    siji.deploy_paths(DATA / "bench")
    svc = siji.service
    with svc.db.read() as s:
        pv = svc.version(s, svc.latest_version(s, "bench_loop").id)
    engine = svc.engine

    wf = engine.load(pv, engine.start(pv, {}).state)
    rounds = 0
    while _ready_user_task(wf).depth < 1000:  # each round adds a few levels; build them in memory
        task = _ready_user_task(wf)
        task.data["approved"] = True
        task.run()
        wf.do_engine_steps()
        rounds += 1
    deep = _ready_user_task(wf)
    assert deep.depth >= 1000 and rounds > 300

    # one more round through the engine's own command, then the way out of the loop
    step = engine.complete(pv, dump_workflow(wf), str(deep.id), {"approved": True})
    assert step.status == "running"
    assert [t.activity_id for t in step.user_tasks] == ["Task_Step"]
    assert engine.load(pv, step.state).get_task_from_id(deep.id).state == TaskState.COMPLETED
    done = engine.complete(pv, step.state, step.user_tasks[0].id, {"approved": False})
    assert (done.status, done.user_tasks) == ("completed", [])
