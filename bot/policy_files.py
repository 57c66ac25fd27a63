"""The files the policy names, read before anything is served: the services' runbooks and the message
templates (checked against sample incidents)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import httpx

from config.errors import ConfigError
from config.policy import Policy
from config.workflows import beyond
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
    lines = str(error).splitlines() + words_problems(policy, folder, placed)
    return ConfigError("\n".join(dict.fromkeys(lines)))


def words_problems(
    policy: Policy, folder: Path | None, placed: Mapping[str, list[str]] | None = None
) -> list[str]:
    """Every workspace's workflow words checked as at start, one line per mistake; `placed`: where
    each workflow is written, when the policy left some out."""
    lines: list[str] = []
    top: list[str] = []
    for prefix, each, where in policy.tables():
        try:
            templates = load_templates(each, folder)
        except ConfigError as exc:
            lines.append(str(exc))
            continue
        at = placed[prefix] if placed is not None else where
        found = workflow_problems(templates, each, at, own_folder(each, folder))
        if not prefix:  # the top level comes first
            top = found
        lines += beyond(top, found, prefix) if prefix else found
    return list(dict.fromkeys(lines))
