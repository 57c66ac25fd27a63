"""Processed Slack events, the incident transcript, timeline reactions and known people.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "processed_events",
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("received_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_processed_events_received_at", "processed_events", ["received_at"])
    op.create_table(
        "transcript_messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "incident_id", sa.Integer, sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.Column("thread_ts", sa.String(32)),
        sa.Column("user_id", sa.String(32)),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("posted_at", UTCDateTime(), nullable=False),
        sa.Column("edited_at", UTCDateTime()),
        sa.UniqueConstraint("incident_id", "ts", name="uq_transcript_ts"),
    )
    op.create_table(
        "timeline_reactions",
        sa.Column(
            "incident_id", sa.Integer, sa.ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("message_ts", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(32), primary_key=True),
        sa.Column("emoji", sa.String(100), primary_key=True),
    )
    op.create_table(
        "people",
        sa.Column("user_id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("people")
    op.drop_table("timeline_reactions")
    op.drop_table("transcript_messages")
    op.drop_table("processed_events")
