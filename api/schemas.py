"""Marshmallow schemas: request validation and the OpenAPI document."""

from __future__ import annotations

from marshmallow import RAISE, Schema, fields, validate

from engine.service.incidents import MAX_NOTE


class StrictSchema(Schema):
    class Meta:
        unknown = RAISE


class QuerySchema(Schema):
    class Meta:
        unknown = RAISE


class ErrorSchema(Schema):
    error = fields.String(required=True)
    message = fields.String(required=True)
    message_zh = fields.String()
    message_en = fields.String()
    fields = fields.Dict()


class PageQuery(QuerySchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class PageSchema(Schema):
    """A page of a list; subclasses say what ``items`` holds."""

    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


class CappedPageSchema(PageSchema):
    total_exact = fields.Boolean(
        metadata={
            "description": (
                "false when total is the count cap (10,000): counting stops there. A page that is not full "
                "ends the list, so its total is always exact."
            )
        }
    )


class HealthSchema(Schema):
    status = fields.String()
    database = fields.String()
    now = fields.String()


class WhoAmISchema(Schema):
    username = fields.String()
    display_name = fields.String()
    roles = fields.List(fields.String())
    role_names = fields.Dict()
    notifications = fields.Boolean()
    departments = fields.List(
        fields.Dict(),
        metadata={"description": "每个部门角色 {code, name}（筛选案件用）/ every department role, for filters"},
    )


class DeploymentProblemSchema(Schema):
    file = fields.String(allow_none=True)
    line = fields.Integer(allow_none=True)
    element = fields.String(allow_none=True)
    message = fields.String()


class VersionSchema(Schema):
    id = fields.Integer()
    key = fields.String()
    version = fields.Integer()
    name = fields.String()
    deployment_id = fields.Integer()
    created_at = fields.DateTime()
    new = fields.Boolean(metadata={"description": "是否新建了版本 / whether a new version was made"})
    changed = fields.List(
        fields.String(), metadata={"description": "与上一版本不同的文件 / what differs from the version before"}
    )


class DeploymentResultSchema(Schema):
    deployment_id = fields.Integer()
    versions = fields.List(fields.Nested(VersionSchema))


class DefinitionSummarySchema(Schema):
    key = fields.String()
    name = fields.String()
    latest_version = fields.Integer()
    versions = fields.List(fields.Integer())
    starter_roles = fields.List(fields.String())


class DefinitionListSchema(Schema):
    items = fields.List(fields.Nested(DefinitionSummarySchema))


class DefinitionSchema(DefinitionSummarySchema):
    version = fields.Integer()
    start_form = fields.Dict(allow_none=True)
    start_form_data = fields.Dict()
    tasks = fields.List(fields.Dict())
    version_list = fields.List(fields.Nested(VersionSchema))


class VersionQuery(QuerySchema):
    version = fields.Integer(validate=validate.Range(min=1))


class StartSchema(StrictSchema):
    process_key = fields.String(required=True, validate=validate.Length(min=1, max=100))
    business_key = fields.String(validate=validate.Length(max=200), allow_none=True)
    variables = fields.Dict(keys=fields.String(), load_default=dict)
    on_behalf_of = fields.String(validate=validate.Length(max=80), allow_none=True)
    from_instance = fields.Integer(
        allow_none=True,
        metadata={
            "description": "带入数据的来源案件 / the completed case whose data this case takes over (settings carry_over)"
        },
    )
    from_business_key = fields.String(validate=validate.Length(min=1, max=200), allow_none=True)
    from_match = fields.String(
        validate=validate.Length(min=1, max=200),
        allow_none=True,
        metadata={
            "description": "来源案件的 match_field 值（如统一社会信用代码）/ the source case's match_field value (a USCC)"
        },
    )


class TaskSummarySchema(Schema):
    id = fields.String()
    name = fields.String()
    activity_id = fields.String()
    role = fields.String()
    role_name = fields.String()
    state = fields.String()
    assignee = fields.String(allow_none=True)
    process_instance_id = fields.Integer()
    process_key = fields.String()
    due_at = fields.DateTime(allow_none=True)
    overdue = fields.Boolean()
    deadline_status = fields.String(
        metadata={"description": "none | on_track | due_soon | overdue | completed_on_time | completed_late"}
    )
    deadline_status_name = fields.String(
        metadata={"description": "无时限 / 未到期 / 即将到期 / 已逾期 / 按时办结 / 逾期办结"}
    )
    remind_at = fields.DateTime(allow_none=True)
    escalated_at = fields.DateTime(allow_none=True)
    business_key = fields.String(allow_none=True)
    display_name = fields.String(
        allow_none=True, metadata={"description": "企业或项目名称 / enterprise or project name"}
    )
    process_name = fields.String(allow_none=True, metadata={"description": "流程中文名称 / the flow's name"})
    created_at = fields.DateTime()
    claimed_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    completed_by = fields.String(allow_none=True)
    due_soon = fields.Boolean(metadata={"description": "即将到期：两天内到期 / due within two days"})
    business_key = fields.String(allow_none=True)
    enterprise_name = fields.String(allow_none=True, metadata={"description": "案件所属企业 / the case's enterprise"})
    process_name = fields.String(allow_none=True, metadata={"description": "流程名称 / the flow's name"})
    assignee_name = fields.String(allow_none=True, metadata={"description": "认领人姓名 / the claimant's display name"})


class TaskDetailSchema(TaskSummarySchema):
    form = fields.Dict(allow_none=True)
    data = fields.Dict()
    case_file = fields.Dict(
        allow_none=True,
        metadata={
            "description": "案卷（只读）：申请和此前各步骤填写的内容，form-js 表单及其数据 / the case file, read-only: "
            "the application and what earlier steps filled, as a form-js form with its data"
        },
    )


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "task_created | reminder | overdue | escalation"})
    title = fields.String()
    title_en = fields.String()
    process_instance_id = fields.Integer(allow_none=True)
    process_key = fields.String(allow_none=True)
    task_id = fields.String(allow_none=True)
    data = fields.Dict()
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)
    read = fields.Boolean()


class NotificationPageSchema(PageSchema):
    items = fields.List(fields.Nested(NotificationSchema))
    unread = fields.Integer()


class NotificationQuery(PageQuery):
    unread = fields.Boolean(load_default=False)


class CarryOverQuery(QuerySchema):
    from_instance = fields.Integer()
    from_business_key = fields.String(validate=validate.Length(min=1, max=200))
    match = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={
            "description": "来源流程 lookup 字段的值（如统一社会信用代码）/ the source's "
            "match_field value (e.g. a USCC)"
        },
    )


class TaskPageSchema(CappedPageSchema):
    items = fields.List(fields.Nested(TaskSummarySchema))


class TaskQuery(PageQuery):
    role = fields.String(validate=validate.Length(max=40))
    state = fields.String(load_default="open", validate=validate.OneOf(["open", "completed", "cancelled", "all"]))
    assignee = fields.String(
        validate=validate.OneOf(["me", "none"]),
        metadata={"description": "me：我认领的 / claimed by me; none：未认领 / unclaimed"},
    )
    process_instance_id = fields.Integer()
    overdue = fields.Boolean()
    process_key = fields.String(validate=validate.Length(max=100), metadata={"description": "流程 / flow"})
    q = fields.String(
        validate=validate.Length(max=200),
        metadata={"description": "按业务编号或企业名称搜索（包含即可）/ search by business key or enterprise name"},
    )
    due = fields.String(
        validate=validate.OneOf(["overdue", "soon", "later", "none"]),
        metadata={
            "description": "期限：已逾期 / 即将到期（两天内）/ 更晚 / 无期限 — overdue, due within two days, later, none"
        },
    )
    sort = fields.String(
        validate=validate.OneOf(["due", "-due", "created", "-created"]),
        metadata={"description": "排序：期限或创建时间，- 为倒序 / by due or creation time, - for descending"},
    )


class CompleteSchema(StrictSchema):
    data = fields.Raw(load_default=dict)


class CompleteResultSchema(Schema):
    task_id = fields.String()
    process_instance_id = fields.Integer()
    status = fields.String()
    replayed = fields.Boolean()


class ActivitySchema(Schema):
    id = fields.String()
    name = fields.String()


class InstanceSummarySchema(Schema):
    id = fields.Integer()
    process_key = fields.String()
    version = fields.Integer()
    business_key = fields.String(allow_none=True)
    display_name = fields.String(
        allow_none=True, metadata={"description": "企业或项目名称 / enterprise or project name"}
    )
    status = fields.String()
    starter = fields.String()
    enterprise = fields.String()
    created_at = fields.DateTime()
    ended_at = fields.DateTime(allow_none=True)
    outcome = fields.Nested(ActivitySchema, allow_none=True)


class InstanceDetailSchema(InstanceSummarySchema):
    active_activities = fields.List(fields.Nested(ActivitySchema))
    tasks = fields.List(fields.Nested(TaskSummarySchema))
    timers = fields.List(fields.Dict())
    completed_activities = fields.List(fields.String())
    taken_flows = fields.List(fields.String())
    data = fields.Dict()


class InstancePageSchema(CappedPageSchema):
    items = fields.List(fields.Nested(InstanceSummarySchema))


class TimerSchema(Schema):
    id = fields.Integer()
    process_instance_id = fields.Integer()
    activity_id = fields.String()
    activity_name = fields.String()
    task_id = fields.String()
    due_at = fields.DateTime()
    status = fields.String()
    provisional = fields.Boolean()
    fired_at = fields.DateTime(allow_none=True)


class TimerQuery(PageQuery):
    due_before = fields.DateTime()
    process_instance_id = fields.Integer()
    status = fields.String(validate=validate.OneOf(["waiting", "fired", "cancelled"]))


class TimerPageSchema(PageSchema):
    items = fields.List(fields.Nested(TimerSchema))


class IncidentSchema(Schema):
    id = fields.Integer()
    process_instance_id = fields.Integer(allow_none=True)
    process_key = fields.String(allow_none=True)
    activity_id = fields.String(allow_none=True)
    activity_name = fields.String(allow_none=True)
    command = fields.String()
    message = fields.String()
    actor = fields.String(allow_none=True)
    created_at = fields.DateTime()
    retryable = fields.Boolean(
        metadata={"description": "an admin can retry it (POST …/retry): a connector call or a timer step"}
    )
    status = fields.String(
        metadata={"description": "open（待处理）| resolved（已处理）/ open: still needs attention; resolved"}
    )
    resolved_at = fields.DateTime(allow_none=True)
    resolved_by = fields.String(
        allow_none=True, metadata={"description": "处理人用户名；自动处理为 system / username, or system"}
    )
    resolution = fields.String(
        allow_none=True,
        metadata={
            "description": "retried（重试成功）| superseded（案件已结束）| manual（管理员标记，见 resolution_note）"
            " / retried: the step ran after all; superseded: the case ended; manual: marked by an admin"
        },
    )
    resolution_note = fields.String(
        allow_none=True, metadata={"description": "管理员的处理说明 / the admin's note (manual)"}
    )


class IncidentQuery(PageQuery):
    process_instance_id = fields.Integer()
    status = fields.String(
        load_default="open",
        validate=validate.OneOf(["open", "resolved", "all"]),
        metadata={"description": "open（缺省，待处理）| resolved | all / default open: what still needs attention"},
    )


class IncidentResolveSchema(StrictSchema):
    note = fields.String(
        required=True,
        validate=validate.Length(min=1, max=MAX_NOTE),
        metadata={"description": "处理说明（记入审计）/ how it was handled, in the audit trail"},
    )


class IncidentPageSchema(PageSchema):
    items = fields.List(fields.Nested(IncidentSchema))


class ClockSchema(Schema):
    now = fields.String()
    offset_seconds = fields.Float()


class AdvanceClockSchema(StrictSchema):
    advance = fields.String(required=True, validate=validate.Length(min=2, max=40))


class NewUserSchema(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    roles = fields.List(
        fields.String(validate=validate.Length(max=40)), required=True, validate=validate.Length(min=1, max=10)
    )
    display_name = fields.String(validate=validate.Length(max=200))
    enterprise_name = fields.String(validate=validate.Length(max=200))
    paired_with = fields.List(fields.String(validate=validate.Length(max=80)), validate=validate.Length(max=100))
    password = fields.String(
        validate=validate.Length(max=200),
        load_only=True,
        metadata={"description": "可选：页面登录密码（8–200 个字符）/ optional password for the pages"},
    )


class UserUpdateSchema(StrictSchema):
    display_name = fields.String(validate=validate.Length(min=1, max=200))
    roles = fields.List(
        fields.String(validate=validate.Length(max=40)),
        validate=validate.Length(min=1, max=10),
        metadata={"description": "角色全集（替换原有角色）/ the whole set of roles (replaces them)"},
    )
    active = fields.Boolean()
    password = fields.String(
        validate=validate.Length(max=200),
        load_only=True,
        metadata={"description": "新密码（8–200 个字符）/ a new password (8 to 200 characters)"},
    )


class LoginSchema(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))
    password = fields.String(required=True, validate=validate.Length(min=1, max=200), load_only=True)


class LoginResultSchema(Schema):
    token = fields.String(metadata={"description": "会话令牌，作 Bearer 使用 / session token, used as a bearer token"})
    token_type = fields.String()
    expires_at = fields.DateTime()
    username = fields.String()
    display_name = fields.String()
    roles = fields.List(fields.String())


class NewUserResultSchema(Schema):
    username = fields.String()
    roles = fields.List(fields.String())
    token = fields.String()


class UserSchema(Schema):
    username = fields.String()
    display_name = fields.String()
    roles = fields.List(fields.String())
    active = fields.Boolean()
    has_password = fields.Boolean()
    enterprise_name = fields.String(allow_none=True)
    locked_until = fields.DateTime(
        allow_none=True, metadata={"description": "密码登录锁定至 / password login locked until"}
    )


class RoleSchema(Schema):
    code = fields.String()
    name = fields.String()
    name_en = fields.String()
    department = fields.Boolean()


class UserListSchema(Schema):
    items = fields.List(fields.Nested(UserSchema))
    roles = fields.List(fields.Nested(RoleSchema))


class RevokeSchema(StrictSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=80))


class CalendarYearSchema(StrictSchema):
    year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    holidays = fields.List(fields.Date(), required=True, validate=validate.Length(max=366))
    workdays = fields.List(fields.Date(), load_default=list, validate=validate.Length(max=366))


class CalendarResultSchema(Schema):
    year = fields.Integer()
    recomputed_timers = fields.Integer()
