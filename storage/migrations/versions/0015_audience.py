"""Everyone who should know: people's names from users.info, announcements in more channels,
subscriptions, catch-ups, related and duplicate incidents.

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def _incident(name: str = "incident_id") -> sa.Column:
    return sa.Column(name, sa.Integer(), sa.ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("real_name", sa.String(120), nullable=True))
        batch.add_column(sa.Column("tz", sa.String(64), nullable=True))
        batch.add_column(sa.Column("looked_up_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("duplicate_of", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_incidents_duplicate_of", "incidents", ["duplicate_of"], ["id"], ondelete="SET NULL"
        )
    op.create_table(
        "incident_announcements",
        _incident(),
        sa.Column("channel", sa.String(100), primary_key=True),
        sa.Column("channel_id", sa.String(32), nullable=True),
        sa.Column("ts", sa.String(32), nullable=True),
        sa.Column("posted_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "subscriptions",
        _incident(),
        sa.Column("user_id", sa.String(32), primary_key=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "catchups",
        _incident(),
        sa.Column("user_id", sa.String(32), primary_key=True),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "incident_links",
        _incident(),
        _incident("other_id"),
        sa.Column("created_by", sa.String(32), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    for table in ("incident_links", "catchups", "subscriptions", "incident_announcements"):
        op.drop_table(table)
    with op.batch_alter_table("incidents") as batch:
        batch.drop_constraint("fk_incidents_duplicate_of", type_="foreignkey")
        batch.drop_column("duplicate_of")
    with op.batch_alter_table("people") as batch:
        for column in ("looked_up_at", "tz", "real_name"):
            batch.drop_column(column)
