"""Task indexes for the reads they serve:

- the assignee index carries the inbox order, so a caller's own claimed tasks are one ordered
  range of it, however many open tasks the caller's department has;
- the open-tasks-per-department report reads one index in its GROUP BY order (the old
  ix_tasks_inbox, from before tasks.audience, served no query but half of that one).

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
    op.drop_index("ix_tasks_inbox", table_name="tasks")
    op.create_index("ix_tasks_state_role", "tasks", ["state", "role", "process_key", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_tasks_state_role", table_name="tasks")
    op.create_index("ix_tasks_inbox", "tasks", ["state", "role", "due_at", "created_at"])
    op.drop_index("ix_tasks_assignee", table_name="tasks")
    op.create_index("ix_tasks_assignee", "tasks", ["assignee_id", "state"])
