"""After the incident: follow-ups, postmortem deadlines and links, reopen and archive.

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "followups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("team_id", sa.String(32), nullable=False, server_default=""),
        sa.Column(
            "incident_id", sa.Integer, sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("owner_id", sa.String(32), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(32)),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("done_at", UTCDateTime()),
        sa.Column("done_by", sa.String(64)),
        sa.Column("message_ts", sa.String(32)),
        sa.Column("tracker", sa.String(16)),
        sa.Column("tracker_key", sa.String(200)),
        sa.Column("tracker_url", sa.String(500)),
    )
    op.create_index("ix_followups_team_owner_state", "followups", ["team_id", "owner_id", "state"])
    op.create_index("ix_followups_incident", "followups", ["incident_id"])
    op.create_index("ix_followups_tracker", "followups", ["tracker", "tracker_key"])
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("status_before_resolve", sa.String(16)))
        batch.add_column(sa.Column("postmortem_due_at", UTCDateTime()))
        batch.add_column(sa.Column("postmortem_url", sa.String(500)))
        batch.add_column(sa.Column("archived_at", UTCDateTime()))
        batch.add_column(sa.Column("announce_ts", sa.String(32)))
    with op.batch_alter_table("scheduled_jobs") as batch:
        batch.add_column(sa.Column("followup_id", sa.Integer))
        batch.create_foreign_key(
            "fk_scheduled_jobs_followup", "followups", ["followup_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    raise NotImplementedError("0011 adds follow-ups; restore a backup to go back")
