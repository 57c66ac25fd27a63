"""Planned pages and update reminders (the database is the truth; the scheduler only wakes us).

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "scheduled_jobs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "incident_id", sa.Integer, sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("level", sa.Integer),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("fence", sa.Integer, nullable=False, server_default="0"),
        sa.Column("lease_until", UTCDateTime()),
        sa.Column("done_at", UTCDateTime()),
        sa.Column("note", sa.String(40)),
    )
    op.create_index("ix_scheduled_jobs_state_due", "scheduled_jobs", ["state", "due_at"])
    op.create_index("ix_scheduled_jobs_incident", "scheduled_jobs", ["incident_id", "kind"])
    op.create_table(
        "page_deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "job_id", sa.Integer, sa.ForeignKey("scheduled_jobs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column(
            "incident_id", sa.Integer, sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("dm_channel", sa.String(32)),
        sa.Column("dm_ts", sa.String(32)),
        sa.Column("sent_at", UTCDateTime()),
        sa.Column("acknowledged_at", UTCDateTime()),
        sa.Column("acknowledged_by", sa.String(32)),
        sa.UniqueConstraint("job_id", "user_id", name="uq_page_delivery_user"),
    )
    op.create_index("ix_page_deliveries_incident", "page_deliveries", ["incident_id"])


def downgrade() -> None:
    op.drop_table("page_deliveries")
    op.drop_table("scheduled_jobs")
