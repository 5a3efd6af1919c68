"""The assignee index carries the inbox order, so a caller's own claimed tasks are one ordered
range of it, however many open tasks the caller's department has.

Revision ID: 0003
Revises: 0002
"""
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_tasks_assignee", table_name="tasks")
    op.create_index("ix_tasks_assignee", "tasks", ["assignee_id", "state", "sort_due", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_tasks_assignee", table_name="tasks")
    op.create_index("ix_tasks_assignee", "tasks", ["assignee_id", "state"])
