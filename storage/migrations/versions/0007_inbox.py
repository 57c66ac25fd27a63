"""The inbox: every acknowledged inbound request, carried out in order per incident; page retries.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("idem_key", sa.String(200), nullable=False),
        sa.Column("order_key", sa.String(200), nullable=False),
        sa.Column("op", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("fence", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("lease_until", UTCDateTime()),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("done_at", UTCDateTime()),
        sa.Column("last_error", sa.String(500)),
        sa.Column("progress", sa.Text),
        sa.Column("first_attempt_at", UTCDateTime()),
        sa.UniqueConstraint("idem_key", name="uq_inbox_idem"),
    )
    op.create_index("ix_inbox_state_next", "inbox", ["state", "next_attempt_at"])
    open_rows = sa.text("state IN ('pending', 'working')")
    op.create_index(
        "ix_inbox_open",
        "inbox",
        ["order_key", "id"],
        postgresql_where=open_rows,
        sqlite_where=open_rows,
    )
    op.create_index("ix_inbox_done", "inbox", ["done_at"])
    if op.get_bind().dialect.name == "postgresql":
        # A queue table: every row is updated a few times within seconds. Vacuum it early, or the
        # index of unfinished rows fills with dead entries and every claim walks them.
        op.execute(
            "ALTER TABLE inbox SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,"
            " autovacuum_vacuum_cost_delay = 0)"
        )
    with op.batch_alter_table("page_deliveries") as batch:
        batch.add_column(sa.Column("first_attempt_at", UTCDateTime()))
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_error", sa.String(300)))
        batch.add_column(sa.Column("given_up_at", UTCDateTime()))


def downgrade() -> None:
    with op.batch_alter_table("page_deliveries") as batch:
        for column in ("given_up_at", "last_error", "attempts", "first_attempt_at"):
            batch.drop_column(column)
    op.drop_table("inbox")
