"""Pages of a schedule's on-call outside the escalation levels (a workflow's `page = { schedule }`):
the schedule on the job and on each of its deliveries.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("scheduled_jobs", sa.Column("schedule", sa.String(40), nullable=True))
    op.add_column("page_deliveries", sa.Column("schedule", sa.String(40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("page_deliveries") as batch:
        batch.drop_column("schedule")
    with op.batch_alter_table("scheduled_jobs") as batch:
        batch.drop_column("schedule")
