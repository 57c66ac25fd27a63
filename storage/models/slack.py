"""slack_sdk's OAuth tables: installations, bots and OAuth state."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy import text as sql_text

from storage.models.base import Base


def _slack_columns(*extra: Column) -> list[Column]:
    """The columns slack_sdk's SQLAlchemy stores read and write (tokens as Text: they are encrypted)."""
    return [
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("client_id", String(32), nullable=False),
        Column("app_id", String(32), nullable=False),
        Column("enterprise_id", String(32)),
        Column("enterprise_name", String(200)),
        Column("team_id", String(32)),
        Column("team_name", String(200)),
        Column("bot_token", Text),
        Column("bot_id", String(32)),
        Column("bot_user_id", String(32)),
        Column("bot_scopes", String(1000)),
        Column("bot_refresh_token", Text),
        Column("bot_token_expires_at", DateTime),
        Column("is_enterprise_install", Boolean, nullable=False, server_default=sql_text("false")),
        Column("installed_at", DateTime, nullable=False),
        *extra,
    ]


# slack_sdk's installation store tables: every installation, and the latest bot of each workspace.
slack_installations = Table(
    "slack_installations",
    Base.metadata,
    *_slack_columns(
        Column("enterprise_url", String(200)),
        Column("user_id", String(32), nullable=False),
        Column("user_token", Text),
        Column("user_scopes", String(1000)),
        Column("user_refresh_token", Text),
        Column("user_token_expires_at", DateTime),
        Column("incoming_webhook_url", Text),
        Column("incoming_webhook_channel", String(200)),
        Column("incoming_webhook_channel_id", String(200)),
        Column("incoming_webhook_configuration_url", String(200)),
        Column("token_type", String(32)),
    ),
    Index("ix_slack_installations_team", "client_id", "enterprise_id", "team_id", "user_id", "installed_at"),
)
slack_bots = Table(
    "slack_bots",
    Base.metadata,
    *_slack_columns(),
    Index("ix_slack_bots_team", "client_id", "enterprise_id", "team_id", "installed_at"),
)
slack_oauth_states = Table(
    "slack_oauth_states",
    Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("state", String(200), nullable=False),
    Column("expire_at", DateTime, nullable=False),
)
