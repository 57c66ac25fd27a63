"""The files the policy names, read before anything is served: the services' runbooks and the message
templates (checked against sample incidents)."""

from __future__ import annotations

from pathlib import Path

import httpx

from config.policy import Policy
from runtime.clock import Clock
from services.catalog import Runbooks
from services.wording import Wordings
from storage.db import Database


async def read_policy_files(
    policy: Policy, folder: Path | None, http: httpx.AsyncClient, db: Database, clock: Clock
) -> tuple[Runbooks, Wordings]:
    """Every runbook and every workspace's templates; a ConfigError in one line on the first that
    cannot be read or does not render."""
    runbooks = Runbooks(policy, folder, http, db, clock)
    await runbooks.load()
    return runbooks, Wordings(policy, folder)
