"""Where a slow page of the web view spends its time, for bench/web.py: the page's own handler run once
more in this process on the same database, every SQL statement timed, the slow statements' plans
(EXPLAIN QUERY PLAN / EXPLAIN ANALYZE), and the time spent writing the postmortem draft, converting it
to HTML and rendering the template."""

from __future__ import annotations

import gc
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from statistics import median
from types import SimpleNamespace
from typing import Any, cast
from urllib.parse import urlsplit

import _support  # noqa: F401  (the repository first on sys.path: `web` is the package, not bench/web.py)
from _web_seed import TEAM, Seeded
from aiohttp.test_utils import make_mocked_request
from sqlalchemy import event
from sqlalchemy.engine import Connection

from config.policy import Policy
from domain.workspace import Team
from runtime.clock import SystemClock
from runtime.slack_ops import SlackOps
from services.reports import Reports
from services.workspace import WorkspaceServices
from storage.db import Database
from web.routes import WebView

RUNS = 5  # runs of a slow page's handler in this process


class _Members:
    """Stands in for SlackOps.private_channels_of: the private channels' members as seeded."""

    def __init__(self, members: dict[str, set[str]]) -> None:
        self._members = members

    async def private_channels_of(self, user: str) -> set[str]:
        """The private channels `user` is in."""
        return {channel for channel, people in self._members.items() if user in people}


@dataclass
class Breakdown:
    """One run of a page's handler: total, per SQL statement, and the Python steps wrapped."""

    total: float = 0.0
    statements: list[tuple[str, Any, float]] = field(default_factory=list)
    steps: dict[str, float] = field(default_factory=dict)
    timeline: float = 0.0  # in TimelineRepo.for_incident: its SELECT, then the rows made ORM objects
    timeline_sql: float = 0.0  # of which the SELECT
    timeline_rows: int = 0
    collector: float = 0.0  # in Python's cycle collector (gc), wherever it ran
    collections: int = 0


def _timed(into: dict[str, float], label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    """`fn`, adding the seconds each call takes to `into[label]`."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            into[label] = into.get(label, 0.0) + time.perf_counter() - started

    return wrapper


def _drafts(into: dict[str, float], fn: Callable[..., str]) -> Callable[..., str]:
    """messages.postmortem.markdown, its seconds added up by the number of timeline rows drafted."""

    def wrapper(pm: Any) -> str:
        started = time.perf_counter()
        try:
            return fn(pm)
        finally:
            label = f"write the postmortem draft, {len(pm.entries):,} rows"
            into[label] = into.get(label, 0.0) + time.perf_counter() - started

    return wrapper


def _handler(view: WebView, path: str) -> tuple[Callable[..., Awaitable[Any]], dict[str, str]]:
    """The WebView method that answers `path` (no query), and its match_info."""
    if path.startswith("/ui/incidents/"):
        number = path.split("/")[3]
        if path.endswith("/postmortem.md"):
            return view.postmortem_md, {"number": number}
        return view.incident, {"number": number}
    if path.startswith("/ui/metrics"):
        return view.metrics, {}
    return view.incidents, {}


async def breakdown(db: Database, seeded: Seeded, path: str) -> Breakdown:
    """Run the page's own handler (web.routes.WebView) in this process on the same database, timing
    each SQL statement (driver time, rows fetched), turning the timeline's rows into ORM objects,
    writing the postmortem draft(s), its Markdown-to-HTML conversion, rendering the template, and
    Python's cycle collector wherever it runs."""
    import services.reports as reports_module
    from storage.repositories import TimelineRepo

    out = Breakdown()
    clock = SystemClock()
    reports = Reports(db, cast(SlackOps, _Members(seeded.private)), Policy(), clock, TEAM)
    ctx = cast(WorkspaceServices, SimpleNamespace(reports=reports, clock=clock, team=Team(TEAM)))
    view = WebView(cast(Any, None), cast(Any, None))  # the handlers are called signed in already
    who = {"u": "U0ALICE", "t": TEAM, "n": "alice"}
    handler, match_info = _handler(view, urlsplit(path).path)
    await handler(make_mocked_request("GET", path, match_info=match_info), ctx, who)  # warm caches

    started: list[float] = []
    in_timeline = False

    def before(*_args: Any) -> None:
        started.append(time.perf_counter())

    def after(_conn: Connection, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        seconds = time.perf_counter() - started.pop()
        out.statements.append((statement, parameters, seconds))
        if in_timeline:
            out.timeline_sql += seconds

    collecting: list[float] = []

    def collector(phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            collecting.append(time.perf_counter())
        elif collecting:
            out.collector += time.perf_counter() - collecting.pop()
            out.collections += 1

    for_incident = TimelineRepo.for_incident

    async def timeline(repo: TimelineRepo, incident_id: int) -> list[Any]:
        nonlocal in_timeline
        begin, in_timeline = time.perf_counter(), True
        try:
            found = await for_incident(repo, incident_id)
        finally:
            in_timeline = False
            out.timeline += time.perf_counter() - begin
        out.timeline_rows += len(found)
        return found

    view._page = _timed(out.steps, "render the template (Jinja)", view._page)  # type: ignore[method-assign]
    view.md.render = _timed(out.steps, "postmortem Markdown → HTML (markdown-it)", view.md.render)  # type: ignore[method-assign]
    draft = reports_module.markdown
    reports_module.markdown = _drafts(out.steps, draft)  # type: ignore[assignment]
    TimelineRepo.for_incident = timeline  # type: ignore[method-assign]
    event.listen(db.engine.sync_engine, "before_cursor_execute", before)
    event.listen(db.engine.sync_engine, "after_cursor_execute", after)
    gc.callbacks.append(collector)
    try:
        begin = time.perf_counter()
        await handler(make_mocked_request("GET", path, match_info=match_info), ctx, who)
        out.total = time.perf_counter() - begin
    finally:
        gc.callbacks.remove(collector)
        event.remove(db.engine.sync_engine, "before_cursor_execute", before)
        event.remove(db.engine.sync_engine, "after_cursor_execute", after)
        reports_module.markdown = draft  # type: ignore[assignment]
        TimelineRepo.for_incident = for_incident  # type: ignore[method-assign]
    return out


async def plan(db: Database, statement: str, parameters: Any) -> list[str]:
    """The database's plan for one captured statement (PostgreSQL: executed, with timings)."""
    params = tuple(parameters) if isinstance(parameters, list | tuple) else parameters
    async with db.engine.connect() as conn:
        if db.is_sqlite:
            rows = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
            return [str(r[-1]) for r in rows]
        rows = await conn.exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
        found = [str(r[0]) for r in rows]
        await conn.rollback()
        return found


def _lines(b: Breakdown) -> dict[str, float]:
    """One run's seconds by what they went to; they add up to its total."""
    sql = sum(t for _, _, t in b.statements)
    orm = b.timeline - b.timeline_sql
    lines = {f"SQL, {len(b.statements)} statements (driver, rows fetched)": sql}
    if b.timeline_rows:
        lines[f"{b.timeline_rows:,} timeline rows made ORM objects"] = orm
    lines.update(b.steps)
    lines["the rest (other ORM objects, Python)"] = b.total - sql - orm - sum(b.steps.values())
    return lines


async def explain_slow(db: Database, seeded: Seeded, name: str, path: str, target_ms: float) -> None:
    """Print where a page that missed its target spends its time (the median of RUNS runs, line by
    line: one run varies with the cycle collector), and the plans of its slow SQL."""
    runs = [await breakdown(db, seeded, path) for _ in range(RUNS)]
    totals = sorted(b.total * 1000 for b in runs)
    print(
        f"    {name}: {median(totals):.1f} ms in this process (no HTTP; median of {RUNS} runs, "
        f"{totals[0]:.1f}–{totals[-1]:.1f}); of it:"
    )
    each = [_lines(b) for b in runs]
    for label in each[0]:
        print(f"      {label + ':':<52}{median(x.get(label, 0.0) for x in each) * 1000:7.1f} ms")
    collected = sorted(b.collector * 1000 for b in runs)
    print(
        f"      (across these, the cycle collector: {median(collected):.1f} ms, "
        f"{collected[0]:.1f}–{collected[-1]:.1f}, {median(b.collections for b in runs):.0f} runs of it)"
    )
    b = runs[-1]
    for statement, parameters, seconds in sorted(b.statements, key=lambda s: -s[2]):
        if seconds < max(0.002, target_ms / 1000 / 10):
            break
        print(f"      {seconds * 1000:6.1f} ms  {' '.join(statement.split())[:150]}")
        for line in await plan(db, statement, parameters):
            print(f"          {line}")
