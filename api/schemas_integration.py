"""Request and answer schemas of the integration endpoints (webhooks, messages, case migration)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas import QuerySchema, StrictSchema

_ID = validate.Range(min=1, max=2**31 - 1)


class SubscriptionNewSchema(StrictSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    url = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    kinds = fields.List(
        fields.String(validate=validate.Length(max=40)), required=True, validate=validate.Length(min=1, max=20)
    )
    secret = fields.String(
        validate=validate.Length(min=16, max=200),
        metadata={"description": "HMAC 密钥；不填则生成 / HMAC key; generated when absent"},
    )


class SubscriptionSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    url = fields.String()
    kinds = fields.List(fields.String())
    active = fields.Boolean()
    start_after_id = fields.Integer()
    created_at = fields.DateTime()
    created_by = fields.String(allow_none=True)
    dead_letters = fields.Integer()
    delivered = fields.Integer()
    secret = fields.String(metadata={"description": "只在创建时返回一次 / returned once, on creation"})


class SubscriptionListSchema(Schema):
    items = fields.List(fields.Nested(SubscriptionSchema))


class DeadLetterSchema(Schema):
    id = fields.Integer()
    subscription_id = fields.Integer()
    process_instance_id = fields.Integer()
    event_id = fields.Integer(allow_none=True)
    kind = fields.String(allow_none=True)
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)


class DeadLetterListSchema(Schema):
    items = fields.List(fields.Nested(DeadLetterSchema))


class DeadLetterQuery(QuerySchema):
    subscription_id = fields.Integer(validate=_ID)


class ReplayDeadSchema(StrictSchema):
    ids = fields.List(fields.Integer(validate=_ID), validate=validate.Length(max=1000))
    subscription_id = fields.Integer(validate=_ID)


class RewindSchema(StrictSchema):
    from_event_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**62))
    process_instance_id = fields.Integer(validate=_ID)


class CountSchema(Schema):
    count = fields.Integer()


class IncidentRetrySchema(Schema):
    incident_id = fields.Integer()
    command = fields.String(metadata={"description": "connector | fire_timers"})
    task_id = fields.String()
    process_instance_id = fields.Integer()
    connector = fields.String()
    status = fields.String(metadata={"description": "pending (the call is queued again) | fired"})
    fired = fields.Integer(metadata={"description": "timers fired (fire_timers)"})


class MigrationRequestSchema(StrictSchema):
    to_version = fields.Integer(
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={"description": "目标版本，缺省为最新 / target version (default: latest)"},
    )
    process_instance_ids = fields.List(fields.Integer(validate=_ID), validate=validate.Length(max=1000))


class MigrationReasonSchema(Schema):
    activity_id = fields.String(allow_none=True)
    activity_name = fields.String(allow_none=True)
    reason_zh = fields.String()
    reason_en = fields.String()


class MigrationCaseSchema(Schema):
    process_instance_id = fields.Integer()
    from_version = fields.Integer()
    can_move = fields.Boolean()
    reasons = fields.List(fields.Nested(MigrationReasonSchema))
    changed_activities = fields.List(fields.String())


class MigrationPlanSchema(Schema):
    process_key = fields.String()
    to_version = fields.Integer()
    cases = fields.List(fields.Nested(MigrationCaseSchema))


class MigrationResultSchema(Schema):
    process_instance_id = fields.Integer()
    moved = fields.Boolean()
    from_version = fields.Integer()
    to_version = fields.Integer()
    reasons = fields.List(fields.Nested(MigrationReasonSchema))
    changed_activities = fields.List(fields.String())


class MigrationResultsSchema(Schema):
    process_key = fields.String()
    results = fields.List(fields.Nested(MigrationResultSchema))


class MessageSchema(StrictSchema):
    name = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "BPMN 消息名称 / the BPMN message name"},
    )
    business_key = fields.String(
        validate=validate.Length(min=1, max=200),
        metadata={"description": "按业务号关联 / correlate by the case's business key"},
    )
    correlation = fields.Dict(
        keys=fields.String(validate=validate.Regexp(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")),
        values=fields.Raw(allow_none=True),
        load_default=dict,
        metadata={"description": "按案件变量关联 / case variables that must hold these values"},
    )
    payload = fields.Dict(keys=fields.String(), load_default=dict)
    result_variable = fields.String(
        validate=validate.Regexp(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$"),
        metadata={"description": "接收案件存放消息内容的变量 / where the case keeps the payload"},
    )


class MessageResultSchema(Schema):
    status = fields.String(metadata={"description": "delivered | kept"})
    delivered_to = fields.List(fields.Integer())
    message_id = fields.Integer()
    expires_at = fields.String()
