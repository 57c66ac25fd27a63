"""On-call: overrides, the last good copy of each calendar, resolved e-mails, handoff DMs.

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "oncall_overrides",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("schedule", sa.String(40), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("start_at", UTCDateTime(), nullable=False),
        sa.Column("end_at", UTCDateTime(), nullable=False),
        sa.Column("created_by", sa.String(32)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("cancelled_at", UTCDateTime()),
        sa.Column("cancelled_by", sa.String(32)),
    )
    op.create_index("ix_oncall_overrides_schedule_end", "oncall_overrides", ["schedule", "end_at"])
    op.create_table(
        "calendar_copies",
        sa.Column("schedule", sa.String(40), primary_key=True),
        sa.Column("body", sa.Text),
        sa.Column("fetched_at", UTCDateTime()),
        sa.Column("last_error", sa.String(300)),
        sa.Column("last_error_at", UTCDateTime()),
    )
    op.create_table(
        "email_users",
        sa.Column("email", sa.String(254), primary_key=True),
        sa.Column("user_id", sa.String(32)),
        sa.Column("looked_up_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "handoffs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("schedule", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("shift_start", UTCDateTime(), nullable=False),
        sa.Column("shift_end", UTCDateTime(), nullable=False),
        sa.Column("incoming", sa.String(200), nullable=False),
        sa.Column("outgoing", sa.String(200)),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("fence", sa.Integer, nullable=False, server_default="0"),
        sa.Column("lease_until", UTCDateTime()),
        sa.Column("done_at", UTCDateTime()),
        sa.Column("note", sa.String(64)),
        sa.UniqueConstraint("schedule", "shift_start", "kind", name="uq_handoff_shift"),
    )
    op.create_index("ix_handoffs_state_due", "handoffs", ["state", "due_at"])


def downgrade() -> None:
    op.drop_table("handoffs")
    op.drop_table("email_users")
    op.drop_table("calendar_copies")
    op.drop_index("ix_oncall_overrides_schedule_end", "oncall_overrides")
    op.drop_table("oncall_overrides")
