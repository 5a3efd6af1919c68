"""Data carried between the real flows (issue 14, item 7), through the API with the real diagrams:
a project that reached 具备开工条件 in 拿地即开工 starts 建成即使用 with its project, enterprise
and permit data taken over by its project code, not re-typed; a case not (yet) ready to build is
refused. Also: every department task of the real flows carries a due time (item 5) and the inbox
names the case (item 6)."""

from __future__ import annotations

from test_flow_land_to_construction import (  # noqa: F401
    PARCEL,
    START,
    begin,
    bidding,
    confirm_design_scheme,
    finish_ready_to_build,
    guidance,
    land,
    pre_listing,
)


def test_ready_to_build_project_starts_completion_acceptance_without_retyping(land):
    siji = land
    case = begin(siji, project_type="expanded")
    # the first government steps run on the settings' clock and name the project in the inbox
    invest = siji.task_for("invest", case.id, "Task_GuideProjectInvestment")
    assert invest["due_at"] is not None and invest["deadline_status"] == "on_track"
    assert (invest["display_name"], invest["process_name"]) == (START["project_name"], "拿地即开工")
    guidance(case)
    bidding(case)
    confirm_design_scheme(case, with_design_scheme=True, also_open=())
    # not ready to build yet: refused, naming the field
    err = siji.start("completion_acceptance", "ent_a", {}, from_match=START["project_code"], expect=422)
    assert "from_match" in err["fields"]
    pre_listing(case, bidding_done=True)
    source = finish_ready_to_build(case)

    started = siji.start(
        "completion_acceptance",
        "ent_a",
        {"project_address": "济宁高新区示范路1号", "permitted_floor_area": 12000},
        from_match=START["project_code"],
    )
    data = siji.instance(started["id"])["data"]
    assert (data["builder_name"], data["builder_uscc"]) == (START["enterprise_name"], START["enterprise_uscc"])
    assert (data["project_name"], data["project_code"], data["parcel_code"]) == (
        START["project_name"],
        START["project_code"],
        PARCEL,
    )
    for key in (
        "construction_permit_no",
        "land_use_permit_no",
        "construction_planning_permit_no",
        "real_estate_cert_no",
    ):
        assert data[key] == source[key], key
    assert data["carried_from"]["process_instance_id"] == case.id
    assert started["display_name"] == START["project_name"]
    # no government task of the new case is without a clock
    tasks = siji.instance(started["id"])["tasks"]
    assert tasks and all(t["due_at"] for t in tasks if t["role"] != "applicant"), tasks
