"""Department roles: the single registry that maps BPMN lane names to role codes.

A user task's candidate role is decided here (see ``role_for_lane``); diagrams name lanes in
Chinese, code and the API use the ASCII role codes of PROCESSES.md.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    code: str
    name_zh: str
    name_en: str
    department: bool = True
    # Other lane names analysts may use for the same role (e.g. the applicant lane).
    aliases: tuple[str, ...] = ()


ROLES: tuple[Role, ...] = (
    Role("approval_bureau", "行政审批服务局", "Administrative Approval Service Bureau"),
    Role("market_supervision", "市场监督管理局", "Market Supervision Administration"),
    Role("tax_bureau", "税务局", "Tax Bureau"),
    Role("public_security", "公安分局", "Public Security Sub-bureau"),
    Role("bank", "银行", "Bank"),
    Role("hr_service_center", "人力资源服务中心", "Human Resources Service Center"),
    Role("social_affairs", "社会事业发展局", "Social Affairs Development Bureau"),
    Role("publicity_dept", "党工委宣传部", "Publicity Department of the Party Working Committee"),
    Role("fire_rescue", "消防救援大队", "Fire and Rescue Brigade"),
    Role("ecology_env", "生态环境分局", "Ecology and Environment Sub-bureau"),
    Role("natural_resources", "自然资源和规划局", "Natural Resources and Planning Bureau"),
    Role("economic_dev", "经济发展局", "Economic Development Bureau"),
    Role("housing_construction", "住房和城乡建设局", "Housing and Urban-Rural Development Bureau"),
    Role("urban_management", "城市管理局", "Urban Management Bureau"),
    Role("investment_promotion", "投资促进局", "Investment Promotion Bureau"),
    Role("park_service_center", "园区发展服务中心", "Park Development Service Center"),
    Role("water_affairs", "水务管理办公室", "Water Affairs Management Office"),
    Role("municipal_gardens", "市政园林局", "Municipal Gardens Bureau"),
    Role("utility_operator", "市政公用服务专营单位", "Public Utility Operators"),
    Role("organization_dept", "党工委组织部", "Organization Department of the Party Working Committee"),
    Role("applicant", "申请人", "Applicant (enterprise / builder)", False, ("企业", "建设单位", "申请人/企业")),
    Role("commissioner", "服务企业特派员", "Enterprise Service Commissioner", False),
    Role(
        "commissioner_office",
        "区“服务特派员”办公室",
        "District Service Commissioner Office",
        True,
        ('区"服务特派员"办公室', "服务特派员办公室"),
    ),
    Role("district_leader", "区领导", "District Leaders"),
    Role(
        "leading_group_office",
        "“四即模式”流程再造工作领导小组办公室",
        "Leading Group Office for the Four-Instant Process Reengineering",
        True,
        ('"四即模式"流程再造工作领导小组办公室', "领导小组办公室"),
    ),
    # A flag, not a department: held beside one or more department roles, it lets its user
    # reassign, release or delegate the claimed tasks of those departments (with a reason that
    # goes into the case's trace). engine/service/task_admin.py.
    Role("dept_supervisor", "部门负责人", "Department supervisor", False),
    Role("analyst", "流程分析员", "Process analyst", False),
    Role("auditor", "审计员", "Auditor", False),
    Role("admin", "系统管理员", "Administrator", False),
)

BY_CODE: dict[str, Role] = {r.code: r for r in ROLES}
# Roles that cannot own a user task through a lane: they are system roles.
SYSTEM_ROLES = frozenset({"analyst", "auditor", "admin", "dept_supervisor"})

# Roles that own tasks as departments (not the applicant or a commissioner), and every task role.
DEPARTMENT_ROLES = frozenset(
    r.code for r in ROLES if r.code not in SYSTEM_ROLES and r.code not in ("applicant", "commissioner")
)
TASK_ROLES = DEPARTMENT_ROLES | {"applicant", "commissioner"}

_BY_LANE: dict[str, str] = {}
for _r in ROLES:
    if _r.code in SYSTEM_ROLES:
        continue
    for _name in (_r.name_zh, _r.code, *_r.aliases):
        _BY_LANE[_name.strip()] = _r.code


def role_for_lane(lane: str | None) -> str | None:
    """The role code of a lane name, or None when the lane is not a known department."""
    if lane is None:
        return None
    return _BY_LANE.get(lane.strip())


def is_role(code: str) -> bool:
    return code in BY_CODE


def role_name(code: str) -> str:
    role = BY_CODE.get(code)
    return role.name_zh if role else code
