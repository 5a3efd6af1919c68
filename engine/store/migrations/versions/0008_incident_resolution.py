"""Incidents get a lifecycle: open until a retry succeeds, their case ends, or an admin marks them
handled with a note (who, when, why). Existing incidents are open. A connector incident names its
task, and a re-queued connector call the admin who retried it.

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

from engine.store.models import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("task_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("status", sa.String(10), nullable=False, server_default="open"))
        batch.add_column(sa.Column("resolved_at", UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("resolved_by", sa.String(80), nullable=True))
        batch.add_column(sa.Column("resolution", sa.String(20), nullable=True))
        batch.add_column(sa.Column("resolution_note", sa.Text(), nullable=True))
    op.create_index("ix_incidents_status", "incidents", ["status", "id"])
    with op.batch_alter_table("connector_jobs") as batch:
        batch.add_column(sa.Column("retried_by", sa.String(80), nullable=True))
    # a connector call parked on an incident names its task, so the call's later success resolves it
    op.execute(
        "UPDATE incidents SET task_id = (SELECT j.task_id FROM connector_jobs j WHERE j.incident_id = incidents.id)"
        " WHERE command = 'connector' AND id IN (SELECT incident_id FROM connector_jobs WHERE incident_id IS NOT NULL)"
    )


def downgrade() -> None:
    with op.batch_alter_table("connector_jobs") as batch:
        batch.drop_column("retried_by")
    op.drop_index("ix_incidents_status", table_name="incidents")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("resolution_note")
        batch.drop_column("resolution")
        batch.drop_column("resolved_by")
        batch.drop_column("resolved_at")
        batch.drop_column("status")
        batch.drop_column("task_id")
