"""A process's user tasks at deploy: where each task's department comes from (a lane, a role
code in ``camunda:candidateGroups`` or a case variable ``${var}``), who it is reserved for
(``camunda:assignee="${var}"``), and its form, which must exist and compile."""

from __future__ import annotations

import re

from lxml import etree

from engine import roles
from engine.forms.compile import compile_form
from engine.forms.messages import FormDefinitionError
from engine.workflow import task_roles
from engine.workflow.deploy_model import CAMUNDA_NS, NS, Problem, TaskInfo

_ASSIGNEE = re.compile(r"^\$\{\s*([A-Za-z][A-Za-z0-9_]*)\s*\}$")


def lanes(process) -> dict[str, str]:
    lanes = {}
    for lane in process.xpath(".//bpmn:lane", namespaces=NS):
        name = (lane.get("name") or "").strip()
        for ref in lane.xpath("./bpmn:flowNodeRef", namespaces=NS):
            lanes[(ref.text or "").strip()] = name
    return lanes


def lane_of(node, process_lanes: dict[str, str]) -> str | None:
    # Tasks inside an embedded sub-process take the lane of the outermost enclosing activity.
    cur = node
    while cur is not None:
        i = cur.get("id")
        if i in process_lanes:
            return process_lanes[i]
        cur = cur.getparent()
        if cur is not None and etree.QName(cur.tag).localname == "process":
            break
    return None


def user_tasks(
    filename: str, key: str, process, find_form, problems: list[Problem]
) -> tuple[dict[str, TaskInfo], dict[str, dict]]:
    """The user tasks by activity id and the forms they use by form key; every problem found is
    appended to ``problems`` (a task with one is left out)."""
    lanes_ = lanes(process)
    version_forms: dict[str, dict] = {}
    tasks: dict[str, TaskInfo] = {}
    for ut in process.xpath(".//bpmn:userTask", namespaces=NS):
        aid = ut.get("id")
        name = (ut.get("name") or "").strip()
        lane = lane_of(ut, lanes_)
        role = ut.get(f"{{{CAMUNDA_NS}}}candidateGroups")
        role_var = None
        if role and task_roles.is_expression(role):
            role_var = task_roles.variable(role)
            if role_var is None:
                problems.append(
                    Problem(
                        filename,
                        ut.sourceline,
                        aid,
                        f"camunda:candidateGroups “{role}” 须为部门代码或 ${{变量名}} / "
                        "must be a role code or ${variable}",
                    )
                )
                continue
            role = ""
        elif role:
            role = role.split(",")[0].strip()
            if not roles.is_role(role) or role in roles.SYSTEM_ROLES:
                problems.append(
                    Problem(
                        filename,
                        ut.sourceline,
                        aid,
                        f"camunda:candidateGroups “{role}” 不是已知部门角色 / unknown role",
                    )
                )
                continue
        else:
            if lane is None:
                problems.append(
                    Problem(
                        filename, ut.sourceline, aid, "用户任务不在任何泳道中，无法确定部门 / user task is in no lane"
                    )
                )
                continue
            role = roles.role_for_lane(lane)
            if role is None:
                problems.append(
                    Problem(
                        filename,
                        ut.sourceline,
                        aid,
                        f"未知泳道 “{lane}”：泳道必须是已登记的部门 / unknown lane '{lane}'",
                    )
                )
                continue
        if not name:
            problems.append(Problem(filename, ut.sourceline, aid, "用户任务没有名称 / user task has no name"))
        assignee_var = None
        assignee = ut.get(f"{{{CAMUNDA_NS}}}assignee")
        if assignee:
            m = _ASSIGNEE.match(assignee.strip())
            if not m:
                problems.append(
                    Problem(
                        filename,
                        ut.sourceline,
                        aid,
                        "camunda:assignee 须为 ${变量名} / camunda:assignee must be ${variable}",
                    )
                )
                continue
            assignee_var = m.group(1)
        form_key = ut.get(f"{{{CAMUNDA_NS}}}formKey") or f"{key}/{aid}"
        found = find_form(form_key, aid)
        if found is None:
            problems.append(
                Problem(
                    filename,
                    ut.sourceline,
                    aid,
                    f"用户任务缺少表单 forms/{form_key}.form / user task has no form '{form_key}'",
                )
            )
            continue
        form_file, form = found
        try:
            compile_form(form)
        except FormDefinitionError as e:
            problems.append(Problem(form_file, None, aid, f"表单有误 / broken form: {e}"))
            continue
        version_forms[form_key] = form
        tasks[aid] = TaskInfo(aid, name, role, lane, form_key, assignee_var, ut.sourceline, role_var)
    return tasks, version_forms
