"""Timeline entries.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "timeline_entries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "incident_id", sa.Integer, sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("author_id", sa.String(32)),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("message_ts", sa.String(32)),
        sa.Column("permalink", sa.String(300)),
        sa.Column("source_key", sa.String(120)),
        sa.UniqueConstraint("incident_id", "source_key", name="uq_timeline_source"),
    )
    op.create_index("ix_timeline_incident_at", "timeline_entries", ["incident_id", "at"])


def downgrade() -> None:
    op.drop_table("timeline_entries")
