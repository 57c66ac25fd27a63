"""The service catalog read from the teams' runbooks: files beside the policy file, or URLs fetched
within a deadline and a size cap, their last good copy kept in the database.

Read once at start (a runbook that cannot be read stops the start, in one line); URLs are fetched
again every `[oncall] refresh` by the background job, never while declaring or paging.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import httpx

from config.errors import ConfigError
from config.policy import Policy
from config.services import ServiceEntry
from domain.catalog import Catalog, Service
from domain.redact import redact_url
from domain.runbooks import Dashboard, Expert, Runbook, parse_runbook
from runtime.clock import Clock
from runtime.fetch import FetchError, Limits, fetch
from storage.db import Database
from storage.runbooks import RunbookCopyRepo

log = logging.getLogger(__name__)
# "Runbook: Search" is the Search service's title: the card already says it is a runbook.
_RUNBOOK_WORD = re.compile(r"^\s*runbook\s*[:\-\u2013\u2014]\s*", re.I)
MAX_BYTES = 2_000_000
LIMITS = Limits(deadline=20.0, max_bytes=MAX_BYTES, max_redirects=3)


class RunbookError(ConfigError):
    """A runbook that cannot be read: the bot does not start on it."""


@dataclass(frozen=True)
class Source:
    """A runbook's text, where it was read from (a path or a redacted URL), and when a URL's copy was
    fetched (None for a file); `error` says why the newest fetch failed when an older copy is used."""

    where: str
    text: str
    fetched_at: datetime | None = None
    error: str | None = None


def entries(policy: Policy) -> list[tuple[str, ServiceEntry]]:
    """Every `[[services]]` entry of the file, with the key naming it (`services[0]`,
    `workspaces.T1.services[2]`), each runbook once per workspace that has it."""
    out = [(f"services[{i}]", e) for i, e in enumerate(policy.services)]
    for team, own in policy.workspaces.items():
        if own.services != policy.services:
            out += [(f"workspaces.{team}.services[{i}]", e) for i, e in enumerate(own.services)]
    return out


def merge(entry: ServiceEntry, runbook: Runbook, where: str) -> Service:
    """A service as its runbook states it, the policy file's keys over it."""
    dashboards = (
        tuple(Dashboard(d.name, d.url) for d in entry.dashboards)
        if entry.dashboards is not None
        else runbook.dashboards
    )
    experts = (
        tuple(Expert(area, handle) for area, handle in entry.experts.items())
        if entry.experts is not None
        else runbook.experts
    )
    owner = entry.owner or (runbook.owner if runbook.owner.startswith("@") else "")
    return Service(
        name=entry.name,
        title=_RUNBOOK_WORD.sub("", runbook.title).strip() or entry.name,
        runbook=where,
        owner=owner,
        on_call=runbook.on_call,
        schedule=entry.schedule,
        dashboards=dashboards,
        failure_modes=runbook.failure_modes,
        escalation=runbook.escalation,
        experts=experts,
        alerts=dict(entry.alerts),
    )


class Runbooks:
    """Every service's runbook text and the catalogs built from them, one per workspace policy."""

    def __init__(
        self, policy: Policy, base: Path | None, http: httpx.AsyncClient, db: Database, clock: Clock
    ) -> None:
        self.policy, self.base, self.http, self.db, self.clock = policy, base, http, db, clock
        self.sources: dict[str, Source] = {}
        self._parsed: dict[str, Runbook] = {}
        self._catalogs: dict[int, tuple[Policy, Catalog]] = {}
        self._next_refresh: datetime | None = None

    def path(self, entry: ServiceEntry) -> Path:
        """Where a file runbook is: relative to the policy file's folder (else the working folder)."""
        return runbook_path(entry, self.base)

    async def load(self) -> None:
        """Read every runbook; RunbookError, in one line, on the first that cannot be read."""
        for key, entry in entries(self.policy):
            if entry.runbook in self.sources:
                continue
            try:
                source = await (self._fetch(entry) if entry.is_url else read_file(self.path(entry)))
            except UNREADABLE as exc:
                raise RunbookError(f"{key}.runbook: {self._shown(entry)}: {reason(exc)}") from None
            self._keep(entry.runbook, source)
        # Fetched just now: the calendar job's first run need not fetch them again.
        self._next_refresh = self.clock.now() + self.policy.oncall.refresh

    async def refresh(self) -> int:
        """Fetch the URL runbooks again when `[oncall] refresh` has passed (each within its deadline);
        a failure keeps the last copy."""
        now = self.clock.now()
        if self._next_refresh is not None and now < self._next_refresh:
            return 0
        self._next_refresh = now + self.policy.oncall.refresh
        urls = {e.runbook: e for _, e in entries(self.policy) if e.is_url}
        results = await asyncio.gather(*(self._fetch(e) for e in urls.values()), return_exceptions=True)
        fresh = 0
        for url, result in zip(urls, results, strict=True):
            if isinstance(result, BaseException):
                log.warning("runbook %s: %s", redact_url(url), reason(result))
                continue
            fresh += result.error is None
            self._keep(url, result)
        return fresh

    def catalog(self, policy: Policy) -> Catalog:
        """The catalog of one workspace's policy (the top level's, or a `[workspaces."T…"]` table's)."""
        kept = self._catalogs.get(id(policy))
        if kept is None or kept[0] is not policy:
            services = tuple(
                merge(e, self._parsed.get(e.runbook) or Runbook(), self._shown(e)) for e in policy.services
            )
            kept = self._catalogs[id(policy)] = (policy, Catalog(services))
        return kept[1]

    def _keep(self, runbook: str, source: Source) -> None:
        if source.error is not None and source.fetched_at is not None:
            when = f"{source.fetched_at:%Y-%m-%d %H:%M} UTC"
            log.warning("runbook %s: %s; using the copy fetched %s", source.where, source.error, when)
        old = self.sources.get(runbook)
        self.sources[runbook] = source
        if old is None or old.text != source.text:
            self._parsed[runbook] = parse_runbook(source.text)
            self._catalogs.clear()

    def _shown(self, entry: ServiceEntry) -> str:
        return redact_url(entry.runbook) if entry.is_url else str(self.path(entry))

    async def _fetch(self, entry: ServiceEntry) -> Source:
        return await fetch_runbook(self.http, entry.runbook, self.db, self.clock.now())


class ServiceCatalog:
    """One workspace's view of the catalog: its services now, and the policy of a service's incidents."""

    def __init__(self, runbooks: Runbooks, policy: Policy) -> None:
        self.runbooks, self.policy = runbooks, policy

    @property
    def current(self) -> Catalog:
        """The services as their runbooks state them now."""
        return self.runbooks.catalog(self.policy)

    def get(self, name: str | None) -> Service | None:
        """The service called `name`, None for none or one no longer in the policy."""
        return self.current.get(name)

    def policy_for(self, service: str | None) -> Policy:
        """The policy of an incident of `service`: its escalation (L1 its schedule, the runbook's path)."""
        return self.policy.for_service(self.current.get(service))


def runbook_path(entry: ServiceEntry, base: Path | None) -> Path:
    """Where a file runbook is: relative to `base`, the policy file's folder (else the working folder)."""
    path = Path(entry.runbook).expanduser()
    return path if path.is_absolute() or base is None else base / path


async def read_file(path: Path) -> Source:
    """A runbook file's text: at most MAX_BYTES of UTF-8 (OSError, ValueError, UnicodeDecodeError)."""
    raw = await asyncio.to_thread(_read_capped, path)
    return Source(str(path), raw.decode("utf-8"))


async def fetch_runbook(
    http: httpx.AsyncClient, url: str, db: Database | None, now: datetime, *, keep: bool = True
) -> Source:
    """The URL's text now (kept as its last good copy when `keep`), else its last good copy with why;
    FetchError when there is none (or no database to hold one)."""
    try:
        text = (await fetch(http, url, LIMITS)).decode("utf-8", errors="replace")
    except FetchError as exc:
        if db is None:
            raise
        async with db.session() as s:
            copy = await RunbookCopyRepo(s).get(url)
        if copy is None:
            raise FetchError(f"{exc} (and no copy was kept)") from None
        return Source(redact_url(url), copy.body, copy.fetched_at, str(exc))
    if keep and db is not None:
        async with db.session() as s:
            await RunbookCopyRepo(s).save(url, text, now)
    return Source(redact_url(url), text, now)


def _read_capped(path: Path) -> bytes:
    with path.open("rb") as f:
        raw = f.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise ValueError(f"larger than {MAX_BYTES} bytes")
    return raw


# What reading or fetching a runbook raises when it cannot be read.
UNREADABLE = (OSError, FetchError, UnicodeDecodeError, ValueError)


def reason(exc: BaseException) -> str:
    """Why a runbook could not be read, in a few words (a URL's host only)."""
    if isinstance(exc, OSError):
        return f"cannot read ({exc.strerror or type(exc).__name__})"
    if isinstance(exc, UnicodeDecodeError):
        return "not UTF-8 text"
    return str(exc)
