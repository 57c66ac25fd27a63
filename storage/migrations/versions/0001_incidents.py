"""Incidents and their status updates.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("channel_id", sa.String(32), unique=True),
        sa.Column("channel_name", sa.String(80)),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("impact", sa.Text),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("commander_id", sa.String(32)),
        sa.Column("scribe_id", sa.String(32)),
        sa.Column("comms_id", sa.String(32)),
        sa.Column("declared_by", sa.String(32)),
        sa.Column("declared_at", UTCDateTime(), nullable=False),
        sa.Column("acknowledged_at", UTCDateTime()),
        sa.Column("resolved_at", UTCDateTime()),
        sa.Column("next_update_due", UTCDateTime()),
        sa.Column("summary", sa.Text),
        sa.Column("initial_message_ts", sa.String(32)),
    )
    op.create_index("ix_incidents_status", "incidents", ["status"])
    op.create_table(
        "incident_updates",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "incident_id", sa.Integer, sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("author_id", sa.String(32)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("posted_at", UTCDateTime(), nullable=False),
        sa.Column("message_ts", sa.String(32)),
    )
    op.create_index("ix_incident_updates_incident_posted", "incident_updates", ["incident_id", "posted_at"])


def downgrade() -> None:
    op.drop_table("incident_updates")
    op.drop_table("incidents")
