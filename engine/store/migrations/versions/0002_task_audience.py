"""Inbox index: tasks.audience and tasks.sort_due

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import engine.store.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tasks") as batch:
        batch.add_column(sa.Column("audience", sa.String(length=60), nullable=False, server_default=""))
        batch.add_column(sa.Column("sort_due", engine.store.models.UTCDateTime(timezone=True), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        far = "'9999-12-31 00:00:00.000000'"
        concat = "'u:' || reserved_for_id", "'r:' || role"
    else:
        far = "TIMESTAMPTZ '9999-12-31 00:00:00+00'"
        concat = "'u:' || reserved_for_id::text", "'r:' || role"
    op.execute(
        f"UPDATE tasks SET audience = CASE WHEN reserved_for_id IS NOT NULL THEN {concat[0]} "
        f"ELSE {concat[1]} END, sort_due = COALESCE(due_at, {far})"
    )
    with op.batch_alter_table("tasks") as batch:
        batch.alter_column("sort_due", nullable=False)
    op.create_index("ix_tasks_audience", "tasks", ["state", "audience", "sort_due", "created_at", "id"])
    op.create_index("ix_tasks_sorted", "tasks", ["state", "sort_due", "created_at", "id"])
    op.create_index("ix_tasks_audience_instance", "tasks", ["audience", "instance_id"])


def downgrade() -> None:
    op.drop_index("ix_tasks_audience_instance", table_name="tasks")
    op.drop_index("ix_tasks_sorted", table_name="tasks")
    op.drop_index("ix_tasks_audience", table_name="tasks")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("sort_due")
        batch.drop_column("audience")
