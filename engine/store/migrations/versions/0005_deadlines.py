"""Deadlines on every government step, notifications, the inbox's case name, case lookup keys.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from engine.store.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("remind_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("watch_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("escalated_at", UTCDateTime(timezone=True), nullable=True))
    op.create_index("ix_tasks_watch", "tasks", ["state", "watch_at"])
    with op.batch_alter_table("process_instances") as batch:
        batch.add_column(sa.Column("display_name", sa.String(200), nullable=True))
    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("audience", sa.String(60), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("process_key", sa.String(100), nullable=True),
        sa.Column("task_id", sa.String(36), nullable=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("title_en", sa.String(300), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("read_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("read_by", sa.Integer(), nullable=True),
    )
    op.create_index("ix_notifications_audience", "notifications", ["audience", "id"])
    op.create_table(
        "case_lookup",
        sa.Column("instance_id", sa.Integer(), sa.ForeignKey("process_instances.id"), primary_key=True),
        sa.Column("name", sa.String(60), primary_key=True),
        sa.Column("process_key", sa.String(100), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
    )
    op.create_index("ix_case_lookup_value", "case_lookup", ["name", "value", "process_key"])


def downgrade() -> None:
    op.drop_index("ix_case_lookup_value", table_name="case_lookup")
    op.drop_table("case_lookup")
    op.drop_index("ix_notifications_audience", table_name="notifications")
    op.drop_table("notifications")
    with op.batch_alter_table("process_instances") as batch:
        batch.drop_column("display_name")
    op.drop_index("ix_tasks_watch", table_name="tasks")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("escalated_at")
        batch.drop_column("watch_at")
        batch.drop_column("remind_at")
