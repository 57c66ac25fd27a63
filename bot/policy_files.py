"""The files the policy names, read before anything is served: the services' runbooks and the message
templates (checked against sample incidents)."""

from __future__ import annotations

from pathlib import Path

import httpx

from config.errors import ConfigError
from config.policy import Policy
from runtime.clock import Clock
from services.catalog import Runbooks
from services.wording import Wordings, load_templates, own_folder, workflow_problems
from storage.db import Database


async def read_policy_files(
    policy: Policy, folder: Path | None, http: httpx.AsyncClient, db: Database, clock: Clock
) -> tuple[Runbooks, Wordings]:
    """Every runbook and every workspace's templates; a ConfigError in one line on the first that
    cannot be read or does not render."""
    runbooks = Runbooks(policy, folder, http, db, clock)
    await runbooks.load()
    return runbooks, Wordings(policy, folder)


def with_words(error: ConfigError, folder: Path | None) -> ConfigError:
    """A policy's workflow mistakes and, for its workflows that read, their words' (a template file
    missing, inline text that does not render), all said at once."""
    if error.partial is None:
        return error
    policy, placed = error.partial
    lines = str(error).splitlines()
    for prefix, each, _where in policy.tables():
        try:
            templates = load_templates(each, folder)
        except ConfigError as exc:
            lines.append(str(exc))
            continue
        lines += workflow_problems(templates, each, placed[prefix], own_folder(each, folder))
    return ConfigError("\n".join(dict.fromkeys(lines)))
