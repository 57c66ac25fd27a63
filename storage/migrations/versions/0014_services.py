"""Services: an incident's service and the runbook link its alert gave; the last good copy of each
runbook fetched from a URL; the diagnosis steps ticked on a runbook card.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("service", sa.String(40), nullable=True))
        batch.add_column(sa.Column("runbook_url", sa.Text(), nullable=True))
        batch.create_index("ix_incidents_team_service", ["team_id", "service"])
    op.create_table(
        "runbook_copies",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("fetched_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "runbook_checks",
        sa.Column(
            "incident_id", sa.Integer(), sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("card_ts", sa.String(32), nullable=False),
        sa.Column("step", sa.String(16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("checked_by", sa.String(32), nullable=True),
        sa.Column("checked_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("incident_id", "card_ts", "step", name="pk_runbook_checks"),
    )


def downgrade() -> None:
    op.drop_table("runbook_checks")
    op.drop_table("runbook_copies")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_index("ix_incidents_team_service")
        batch.drop_column("runbook_url")
        batch.drop_column("service")
