"""Which workspace a command-line command is about (`--team`)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from config.errors import ConfigError

if TYPE_CHECKING:  # the parser imports this module: storage loads only when a command runs
    from storage.db import Database


def add_argument(parser: argparse.ArgumentParser) -> None:
    """`--team T…`: needed once the database holds more than one workspace."""
    parser.add_argument("--team", help="the workspace (Slack team id) when the bot serves several")


async def pick(db: Database, given: str | None) -> str:
    """The team named, else the only one the database knows ('' before any), else a ConfigError."""
    from storage.installations import workspace_ids

    if given:
        return given
    known = await workspace_ids(db)
    if len(known) > 1:
        raise ConfigError(f"--team: the database holds several workspaces ({', '.join(known)}): name one")
    return known[0] if known else ""
