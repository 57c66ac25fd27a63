"""Outbox of outbound deliveries (webhooks, PagerDuty) and the incident's public Statuspage incident.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column(
            "incident_id", sa.Integer, sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("target", sa.String(500), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("fence", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("lease_until", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("delivered_at", UTCDateTime()),
        sa.Column("last_error", sa.String(500)),
        sa.UniqueConstraint("event_id", "target", name="uq_outbox_event_target"),
    )
    op.create_index("ix_outbox_state_next", "outbox", ["state", "next_attempt_at"])
    op.create_index("ix_outbox_target_incident", "outbox", ["target", "incident_id", "id"])
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("statuspage_id", sa.String(64)))
        batch.add_column(sa.Column("statuspage_link", sa.String(300)))
        batch.add_column(sa.Column("statuspage_status", sa.String(16)))


def downgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("statuspage_status")
        batch.drop_column("statuspage_link")
        batch.drop_column("statuspage_id")
    op.drop_table("outbox")
