"""A team's own fields on an incident (`[[fields]]`): one row per field set, its value as JSON.

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "incident_fields",
        sa.Column(
            "incident_id",
            sa.Integer(),
            sa.ForeignKey("incidents.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("set_by", sa.String(32), nullable=True),
        sa.Column("set_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_incident_fields_name", "incident_fields", ["name"])


def downgrade() -> None:
    op.drop_index("ix_incident_fields_name", table_name="incident_fields")
    op.drop_table("incident_fields")
