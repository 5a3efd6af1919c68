"""Integration: webhook subscriptions and their per-case delivery cursors; connector jobs; messages waiting for a case.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from engine.store.models import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("url", sa.String(1000), nullable=False),
        sa.Column("kinds", sa.JSON(), nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("start_after_id", _BIGINT, nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(80), nullable=True),
    )
    op.create_table(
        "webhook_cursors",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("subscription_id", sa.Integer(), sa.ForeignKey("webhook_subscriptions.id"), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("last_event_id", _BIGINT, nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(80), nullable=True),
        sa.Column("lease_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("delivered", sa.Integer(), nullable=False),
        sa.UniqueConstraint("subscription_id", "instance_id", name="uq_webhook_cursor"),
    )
    op.create_index("ix_webhook_cursors_status", "webhook_cursors", ["status", "subscription_id"])
    op.create_index("ix_outbox_instance_event", "outbox_events", ["instance_id", "id"])
    op.create_table(
        "connector_jobs",
        sa.Column("task_id", sa.String(36), primary_key=True),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("connector", sa.String(100), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_owner", sa.String(80), nullable=True),
        sa.Column("lease_until", UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("incident_id", sa.Integer(), nullable=True),
    )
    op.create_index("ix_connector_jobs_instance_id", "connector_jobs", ["instance_id"])
    op.create_table(
        "pending_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("business_key", sa.String(200), nullable=True),
        sa.Column("correlation", sa.JSON(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("result_var", sa.String(100), nullable=True),
        sa.Column("source_instance_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("delivered_to", sa.JSON(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_pending_messages_status", "pending_messages", ["status", "id"])


def downgrade() -> None:
    op.drop_index("ix_pending_messages_status", table_name="pending_messages")
    op.drop_table("pending_messages")
    op.drop_index("ix_connector_jobs_instance_id", table_name="connector_jobs")
    op.drop_table("connector_jobs")
    op.drop_index("ix_outbox_instance_event", table_name="outbox_events")
    op.drop_index("ix_webhook_cursors_status", table_name="webhook_cursors")
    op.drop_table("webhook_cursors")
    op.drop_table("webhook_subscriptions")
