"""Workspaces: every row belongs to a Slack team; incident numbers per team; private incidents;
OAuth installations (tokens encrypted by the bot) and OAuth state.

Rows from before (one workspace, one token) get team_id '' and are adopted by the workspace of the
bot token at its next start.

Revision ID: 0010
Revises: 0009
"""

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TEAM = "team_id"


def _team() -> sa.Column:
    return sa.Column(TEAM, sa.String(32), nullable=False, server_default="")


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(_team())
        batch.add_column(sa.Column("enterprise_id", sa.String(32)))
        batch.add_column(sa.Column("number", sa.Integer))
        batch.add_column(sa.Column("private", sa.Boolean, nullable=False, server_default=sa.false()))
    op.execute("UPDATE incidents SET number = id")
    with op.batch_alter_table("incidents") as batch:
        batch.alter_column("number", existing_type=sa.Integer, nullable=False)
        batch.create_unique_constraint("uq_incidents_team_number", [TEAM, "number"])
        batch.create_index("ix_incidents_team_declared", [TEAM, "declared_at"])

    with op.batch_alter_table("scheduled_jobs") as batch:
        batch.add_column(_team())
        batch.create_index("ix_scheduled_jobs_team_state_due", [TEAM, "state", "due_at"])
    with op.batch_alter_table("inbox") as batch:
        batch.add_column(_team())
        batch.add_column(sa.Column("enterprise_id", sa.String(32)))
    with op.batch_alter_table("oncall_overrides") as batch:
        batch.add_column(_team())
        batch.drop_index("ix_oncall_overrides_schedule_end")
        batch.create_index("ix_oncall_overrides_team_schedule_end", [TEAM, "schedule", "end_at"])
    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(_team())
        batch.drop_constraint("uq_handoff_shift", type_="unique")
        batch.create_unique_constraint("uq_handoff_shift", [TEAM, "schedule", "shift_start", "kind"])
        batch.create_index("ix_handoffs_team_state_due", [TEAM, "state", "due_at"])

    # Keyed by team as well now: a new table each, the rows copied over.
    _rekey(
        "alert_groups",
        [
            sa.Column("key_hash", sa.String(64), primary_key=True),
            sa.Column("group_key", sa.Text, nullable=False),
            sa.Column("incident_id", sa.Integer, sa.ForeignKey("incidents.id", ondelete="SET NULL")),
            sa.Column("claimed_at", UTCDateTime(), nullable=False),
            sa.Column("still_firing", sa.String(64)),
        ],
    )
    _rekey(
        "calendar_copies",
        [
            sa.Column("schedule", sa.String(40), primary_key=True),
            sa.Column("body", sa.Text),
            sa.Column("fetched_at", UTCDateTime()),
            sa.Column("last_error", sa.String(300)),
            sa.Column("last_error_at", UTCDateTime()),
        ],
    )
    _rekey(
        "email_users",
        [
            sa.Column("email", sa.String(254), primary_key=True),
            sa.Column("user_id", sa.String(32)),
            sa.Column("looked_up_at", UTCDateTime(), nullable=False),
        ],
    )

    # slack_sdk's installation and OAuth state tables, with room for encrypted tokens.
    op.create_table(
        "slack_installations",
        *_slack_columns(),
        sa.Column("enterprise_url", sa.String(200)),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("user_token", sa.Text),
        sa.Column("user_scopes", sa.String(1000)),
        sa.Column("user_refresh_token", sa.Text),
        sa.Column("user_token_expires_at", sa.DateTime),
        sa.Column("incoming_webhook_url", sa.Text),
        sa.Column("incoming_webhook_channel", sa.String(200)),
        sa.Column("incoming_webhook_channel_id", sa.String(200)),
        sa.Column("incoming_webhook_configuration_url", sa.String(200)),
        sa.Column("token_type", sa.String(32)),
    )
    op.create_index(
        "ix_slack_installations_team",
        "slack_installations",
        ["client_id", "enterprise_id", "team_id", "user_id", "installed_at"],
    )
    op.create_table("slack_bots", *_slack_columns())
    op.create_index(
        "ix_slack_bots_team", "slack_bots", ["client_id", "enterprise_id", "team_id", "installed_at"]
    )
    op.create_table(
        "slack_oauth_states",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("state", sa.String(200), nullable=False),
        sa.Column("expire_at", sa.DateTime, nullable=False),
    )


def _slack_columns() -> list[sa.Column]:
    """What slack_sdk's installation and bot tables share."""
    return [
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("client_id", sa.String(32), nullable=False),
        sa.Column("app_id", sa.String(32), nullable=False),
        sa.Column("enterprise_id", sa.String(32)),
        sa.Column("enterprise_name", sa.String(200)),
        sa.Column("team_id", sa.String(32)),
        sa.Column("team_name", sa.String(200)),
        sa.Column("bot_token", sa.Text),
        sa.Column("bot_id", sa.String(32)),
        sa.Column("bot_user_id", sa.String(32)),
        sa.Column("bot_scopes", sa.String(1000)),
        sa.Column("bot_refresh_token", sa.Text),
        sa.Column("bot_token_expires_at", sa.DateTime),
        sa.Column("is_enterprise_install", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("installed_at", sa.DateTime, nullable=False),
    ]


def _rekey(name: str, columns: list[sa.Column]) -> None:
    """Recreate `name` with team_id leading its primary key, keeping its rows (as team '')."""
    names = [c.name for c in columns]
    keys = [c.name for c in columns if c.primary_key]
    for c in columns:
        c.nullable = c.nullable and not c.primary_key
        c.primary_key = False
    op.create_table(
        f"{name}_new",
        sa.Column(TEAM, sa.String(32), nullable=False, server_default=""),
        *columns,
        sa.PrimaryKeyConstraint(TEAM, *keys, name=f"pk_{name}"),
    )
    listed = ", ".join(names)
    op.execute(f"INSERT INTO {name}_new ({listed}) SELECT {listed} FROM {name}")
    op.drop_table(name)
    op.rename_table(f"{name}_new", name)


def downgrade() -> None:
    raise NotImplementedError("0010 adds workspaces; restore a backup to go back")
