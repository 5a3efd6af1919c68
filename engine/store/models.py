"""Tables. List views (inbox, instances, timers, reports) read the indexed columns here, never
the serialized engine state."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, on SQLite (which keeps no zone) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


NO_DUE = datetime(9999, 12, 31, tzinfo=UTC)  # sorts after every real due time


def task_audience(reserved_for_id: int | None, role: str) -> str:
    return f"u:{reserved_for_id}" if reserved_for_id is not None else f"r:{role}"


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict: JSON, list: JSON}


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    enterprise_name: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    # argon2id (engine/service/users.py); None: this user logs in with tokens only
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # consecutive failed password logins, and until when the password login is refused
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None]


class UserRole(Base):
    __tablename__ = "user_roles"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class Pairing(Base):
    """A service commissioner paired one-to-one with an enterprise (applicant user)."""

    __tablename__ = "pairings"
    commissioner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    applicant_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)


class Token(Base):
    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Deployment(Base):
    __tablename__ = "deployments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime]
    deployed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    files: Mapped[list]


class ProcessVersionRow(Base):
    __tablename__ = "process_versions"
    __table_args__ = (UniqueConstraint("key", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    key: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    bpmn_file: Mapped[str] = mapped_column(String(200))
    bpmn_xml: Mapped[str] = mapped_column(Text)
    spec_state: Mapped[dict]
    tasks: Mapped[dict]
    elements: Mapped[dict]
    resources: Mapped[dict]
    start_form: Mapped[dict | None]
    starter_roles: Mapped[list]
    created_at: Mapped[datetime]


class Instance(Base):
    __tablename__ = "process_instances"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    process_key: Mapped[str] = mapped_column(String(100))
    business_key: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # running | completed | terminated
    starter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The enterprise (applicant user) the case belongs to; differs from the starter when a
    # commissioner opens a case on an enterprise's behalf.
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    outcome_id: Mapped[str | None] = mapped_column(String(100))
    outcome_name: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(Text)
    lock_version: Mapped[int] = mapped_column(Integer, default=1)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64), default="")
    # The enterprise or project name the inbox shows (the flow's settings ``display_name_field``),
    # kept here so a list reads it from the row instead of the engine state.
    display_name: Mapped[str | None] = mapped_column(String(200))
    __table_args__ = (
        Index("ix_instances_key_status", "process_key", "status", "id"),
        Index("ix_instances_status", "status", "id"),
        Index("ix_instances_starter", "starter_id", "id"),
        Index("ix_instances_enterprise", "enterprise_id", "id"),
        Index("ix_instances_business_key", "business_key"),
    )
    __mapper_args__ = {"version_id_col": lock_version}


class Task(Base):
    """Projection of every user task of every instance."""

    __tablename__ = "tasks"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # SpiffWorkflow task id
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    process_key: Mapped[str] = mapped_column(String(100))
    activity_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(20))  # open | completed | cancelled
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reserved_for_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # applicant's own / data-assigned
    form_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[datetime | None]
    # Who may pick the task up, as one indexed value: "u:<user id>" for a task reserved for a
    # user, else "r:<role>". With sort_due (due_at, or far in the future when there is none) it
    # lets an inbox read its first page straight off an index, however many tasks are open.
    audience: Mapped[str] = mapped_column(String(60), default="")
    sort_due: Mapped[datetime] = mapped_column(default=lambda: NO_DUE)
    # The deadline watch (engine/timers/deadlines.py), for due times the flow's settings give:
    # when to remind, the next moment the watch must look at the task (the reminder, then the
    # due time; NULL once escalated or when the diagram's own timers clock the task), and when
    # the task was escalated to the leading-group office.
    remind_at: Mapped[datetime | None]
    watch_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    __table_args__ = (
        Index("ix_tasks_watch", "state", "watch_at"),
        Index("ix_tasks_audience", "state", "audience", "sort_due", "created_at", "id"),
        Index("ix_tasks_sorted", "state", "sort_due", "created_at", "id"),
        Index("ix_tasks_audience_instance", "audience", "instance_id"),
        Index("ix_tasks_state_role", "state", "role", "process_key", "due_at"),
        Index("ix_tasks_assignee", "assignee_id", "state", "sort_due", "created_at", "id"),
        Index("ix_tasks_reserved", "reserved_for_id", "state"),
        Index("ix_tasks_instance", "instance_id"),
        Index("ix_tasks_completed", "completed_at"),
    )


class AuditEvent(Base):
    """Append-only; each row hashes its content and the previous row of the same chain."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"))
    process_key: Mapped[str | None] = mapped_column(String(100))
    seq: Mapped[int]
    at: Mapped[datetime]
    activity_id: Mapped[str | None] = mapped_column(String(100))
    activity_name: Mapped[str | None] = mapped_column(String(200))
    transition: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str | None] = mapped_column(String(80))
    role: Mapped[str | None] = mapped_column(String(40))
    task_id: Mapped[str | None] = mapped_column(String(36))
    data: Mapped[dict]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    __table_args__ = (
        UniqueConstraint("instance_id", "seq", name="uq_audit_instance_seq"),
        Index("ix_audit_at", "at"),
        Index("ix_audit_transition_at", "transition", "at"),
    )


class Timer(Base):
    __tablename__ = "timers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"))
    task_id: Mapped[str] = mapped_column(String(36))
    activity_id: Mapped[str] = mapped_column(String(100))
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20))  # waiting | fired | cancelled
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    calc: Mapped[dict | None]  # inputs of a provisional working-day deadline, to recompute it
    attached_task_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime]
    fired_at: Mapped[datetime | None]
    __table_args__ = (
        Index("ix_timers_status_due", "status", "due_at"),
        Index("ix_timers_instance", "instance_id", "status"),
    )


class Incident(Base):
    __tablename__ = "incidents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instances.id"), index=True)
    process_key: Mapped[str | None] = mapped_column(String(100))
    activity_id: Mapped[str | None] = mapped_column(String(100))
    activity_name: Mapped[str | None] = mapped_column(String(200))
    command: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text)
    actor: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime]
    # the connector task whose call failed (command ``connector``): its later success resolves it
    task_id: Mapped[str | None] = mapped_column(String(36))
    # open: still needs an admin's attention; resolved: a retry succeeded (``retried``), its case
    # ended (``superseded``) or an admin marked it handled with a note (``manual``)
    status: Mapped[str] = mapped_column(String(10), default="open", server_default="open")
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(80))
    resolution: Mapped[str | None] = mapped_column(String(20))  # retried | superseded | manual
    resolution_note: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (Index("ix_incidents_status", "status", "id"),)


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response: Mapped[dict]
    created_at: Mapped[datetime]


class ServiceSetting(Base):
    """Small shared settings every process reads (the clock offset for acceptance testing)."""

    __tablename__ = "service_settings"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    value: Mapped[dict]


class CalendarYear(Base):
    """Holidays and make-up working days an admin loaded for a year the calendar package lacks."""

    __tablename__ = "calendar_years"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    holidays: Mapped[list]
    workdays: Mapped[list]
    loaded_at: Mapped[datetime]
    loaded_by: Mapped[str | None] = mapped_column(String(80))


class OutboxEvent(Base):
    """A case event for the departments' own systems, written in the transaction of the change
    it reports (engine/service/outbox.py) and delivered from here at least once, in id order per
    case (an instance's commands are serialized by its row lock, so ids follow the case's order)."""

    __tablename__ = "outbox_events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(40))
    instance_id: Mapped[int | None] = mapped_column(Integer, index=True)
    process_key: Mapped[str | None] = mapped_column(String(100))
    task_id: Mapped[str | None] = mapped_column(String(36))
    role: Mapped[str | None] = mapped_column(String(40))
    payload: Mapped[dict]
    created_at: Mapped[datetime]
    # the dispatcher reads one case's events after its cursor
    __table_args__ = (Index("ix_outbox_instance_event", "instance_id", "id"),)


class WebhookSubscription(Base):
    """A department system that hears case events (engine/integration/delivery.py)."""

    __tablename__ = "webhook_subscriptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    url: Mapped[str] = mapped_column(String(1000))
    kinds: Mapped[list]  # outbox kinds it hears
    secret: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Events with a larger id are delivered: a new subscription hears what happens from then on.
    # Then its low-water mark: raised as its cursors move on, lowered by a rewind
    # (engine/integration/outbox_housekeeping.py).
    start_after_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(80))


class WebhookCursor(Base):
    """How far one subscription got in one case's events: delivery is in order per case, so a
    cursor is the unit a dispatcher leases (``lease_owner``/``lease_until``) and a failing event
    holds back only its own case. ``status`` dead: the event after ``last_event_id`` failed
    ``attempts`` times (a dead letter) and waits for an admin's replay."""

    __tablename__ = "webhook_cursors"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"))
    instance_id: Mapped[int] = mapped_column(Integer)
    last_event_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    status: Mapped[str] = mapped_column(String(10), default="active")  # active | dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered: Mapped[int] = mapped_column(Integer, default=0)
    __table_args__ = (
        UniqueConstraint("subscription_id", "instance_id", name="uq_webhook_cursor"),
        Index("ix_webhook_cursors_status", "status", "subscription_id"),
    )


class ConnectorJob(Base):
    """A connector call a service task waits for (engine/integration/jobs.py): leased by one
    connector worker at a time; ``failed`` after its retries, with an incident, until an admin
    retries it. The task row (role ``connector``) says whether the case still waits."""

    __tablename__ = "connector_jobs"
    task_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(Integer, index=True)
    connector: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(10))  # pending | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    incident_id: Mapped[int | None] = mapped_column(Integer)
    # the admin who queued the call again (POST /api/incidents/<id>/retry): its success resolves
    # the incident in that admin's name
    retried_by: Mapped[str | None] = mapped_column(String(80))


class PendingMessage(Base):
    """A BPMN message on its way to a waiting case (engine/integration/messages.py): thrown by a
    case (written with the step that threw it) or sent by another system and kept because no case
    waited for it yet (``SIJI_MESSAGE_TTL``)."""

    __tablename__ = "pending_messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    business_key: Mapped[str | None] = mapped_column(String(200))
    correlation: Mapped[dict]
    payload: Mapped[dict]
    result_var: Mapped[str | None] = mapped_column(String(100))
    source_instance_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10))  # pending | delivered | expired
    tries: Mapped[int] = mapped_column(Integer, default=0)
    delivered_to: Mapped[list | None]
    created_at: Mapped[datetime]
    __table_args__ = (Index("ix_pending_messages_status", "status", "id"),)


class Notification(Base):
    """An in-app notification for a department (``audience`` "r:<role>") or one person
    ("u:<user id>"), the same values as ``tasks.audience``. A department's notification is shared
    by its members, like its inbox: one member marking it read marks it read for all."""

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    audience: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(20))  # task_created | reminder | overdue | escalation
    instance_id: Mapped[int | None] = mapped_column(Integer)
    process_key: Mapped[str | None] = mapped_column(String(100))
    task_id: Mapped[str | None] = mapped_column(String(36))
    title: Mapped[str] = mapped_column(String(300))
    title_en: Mapped[str] = mapped_column(String(300))
    data: Mapped[dict]
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
    read_by: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (Index("ix_notifications_audience", "audience", "id"),)


class CaseLookup(Base):
    """Case data a flow's settings name in ``lookup_fields`` (a USCC, a project code), indexed so
    another flow can find the case by it (carry-over, engine/service/carry_over.py)."""

    __tablename__ = "case_lookup"
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instances.id"), primary_key=True)
    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    process_key: Mapped[str] = mapped_column(String(100))
    value: Mapped[str] = mapped_column(String(200))
    __table_args__ = (Index("ix_case_lookup_value", "name", "value", "process_key"),)


@event.listens_for(Task, "before_insert")
@event.listens_for(Task, "before_update")
def _task_index_columns(mapper, connection, task: Task) -> None:
    task.audience = task_audience(task.reserved_for_id, task.role)
    task.sort_due = task.due_at or NO_DUE
