"""Checks a command makes before it starts: the tokens `serve` needs for its mode, and the database a
read-only command (stats, export) reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from config.errors import ConfigError, Unavailable
from config.settings import Settings

if TYPE_CHECKING:
    from storage.db import Database

NO_WORKSPACE = "no workspace yet? try `make demo` or `make shell`"
HTTP_NEEDS = (
    "HTTP mode needs both SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET, or SLACK_CLIENT_ID, SLACK_CLIENT_SECRET "
    "and SLACK_STATE_SECRET to install with OAuth"
)
SOCKET_NEEDS = "Socket Mode needs both SLACK_BOT_TOKEN and SLACK_APP_TOKEN; or serve with --http"


class NoDatabase(Unavailable):
    """DATABASE_URL names an SQLite file that is not there: reading it would only create an empty one."""

    exit_code = 2


def check_serve(settings: Settings, *, http: bool) -> None:
    """The settings `serve` needs in its mode, or a one-line ConfigError naming them all; without a bot
    token, a pointer to the demo and the shell, which need none."""
    settings.check_install_mode()
    if settings.oauth:
        if not http:
            raise ConfigError("--http: installing with OAuth needs HTTP mode (Slack redirects to it)")
        settings.require("slack_signing_secret", why="HTTP mode needs it")
        return
    try:
        if http:
            settings.require("slack_bot_token", "slack_signing_secret", why=HTTP_NEEDS)
        else:
            settings.require("slack_bot_token", "slack_app_token", why=SOCKET_NEEDS)
    except ConfigError as exc:
        if settings.slack_bot_token is not None and settings.slack_bot_token.get_secret_value():
            raise
        raise ConfigError(f"{exc}; {NO_WORKSPACE}") from None


def require_database(url: str) -> None:
    """NoDatabase when `url` is an SQLite file that does not exist in a folder that does (where
    connecting would create it); anything else is left to the connection's own checks."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return
    path = parsed.database
    if parsed.get_backend_name() != "sqlite" or not path or path == ":memory:" or path.startswith("file:"):
        return
    if Path(path).parent.is_dir() and not Path(path).exists():
        raise NoDatabase(
            f"no database at {path} (set DATABASE_URL or run from the folder where the bot runs)"
        )


@asynccontextmanager
async def existing_database(url: str) -> AsyncIterator[tuple[Database, bool]]:
    """The database a read-only command reads (NoDatabase where there is none; never created) and
    whether it has been migrated at all; disposed afterwards."""
    from storage import migrate
    from storage.db import Database

    require_database(url)
    db = Database(url)
    await db.check()
    try:
        yield db, await migrate.current_revision(db) is not None
    finally:
        await db.dispose()
