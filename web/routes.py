"""The web view's pages under /ui/: the incident list, one incident, the metrics, the services, and
the live panel's JSON; every page but sign-in wants a session."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from config.custom_fields import CustomField
from config.settings import Settings
from domain.fields import shown
from domain.urls import safe_url
from domain.workspace import Team
from messages.text import person, readable
from messages.timeline import entry_text
from runtime.workspaces import Workspaces
from services.workspace import WorkspaceServices
from storage.db import Database
from storage.web_queries import SORTS, Filters
from web import charts, safety
from web.exports import Exports, OtherRequests
from web.session import SESSION_COOKIE, Sessions, Signer
from web.signin import CALLBACK, LOGIN, LOGOUT, SignIn

HERE = Path(__file__).parent
PER_PAGE = 50
TIMELINE_PAGE = 500  # timeline entries an incident page lists at once, in time order
SERVICE_DAYS = 90  # the window of the Services page's figures
MAX_FIELD_FILTERS = 10  # `field.<name>=` filters a list request applies at most
INCIDENT = "/ui/incidents/{number:\\d{1,9}}"  # longer numbers are no incident's (404), not an overflow
Handler = Callable[[web.Request, WorkspaceServices, dict[str, Any]], Awaitable[web.StreamResponse]]


class WebView:
    """Renders the pages for the signed-in person's workspace."""

    def __init__(self, workspaces: Workspaces, signin: SignIn, others: OtherRequests | None = None) -> None:
        self.workspaces, self.signin = workspaces, signin
        self.jinja = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
        self.jinja.filters["utc"] = lambda at: at.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if at else "—"
        self.jinja.filters["duration"] = _duration
        self.jinja.filters["seconds"] = lambda s: _duration(
            None if s is None else timedelta(seconds=round(s))
        )
        self.jinja.filters["safe_url"] = safe_url
        # People by name and Slack's tokens as words: no `<@…>` or `<!…>` reaches a page.
        self.jinja.filters["person"] = person
        self.jinja.filters["words"] = readable
        self.jinja.filters["entry"] = entry_text
        self.jinja.filters["shown"] = lambda value, kind: shown(kind, value)
        self.md = safety.renderer()
        self.exports = Exports(others or OtherRequests())

    def add_routes(self, app: web.Application) -> None:
        """Mount every route of the web view."""
        app.router.add_get(LOGIN, self.signin.login)
        app.router.add_get(CALLBACK, self.signin.callback)
        app.router.add_get(LOGOUT, self.signin.confirm_logout)
        app.router.add_post(LOGOUT, self.signin.logout)
        app.router.add_static("/ui/static/", HERE / "static")
        app.router.add_get("/ui", self.home)
        app.router.add_get("/ui/", self._signed(self.incidents))
        app.router.add_get("/ui/live.json", self._signed(self.live))
        app.router.add_get("/ui/metrics", self._signed(self.metrics))
        app.router.add_get("/ui/services", self._signed(self.services))
        app.router.add_get(INCIDENT, self._signed(self.incident))
        app.router.add_get(INCIDENT + "/postmortem.md", self._signed(self.postmortem_md))
        app.router.add_get(INCIDENT + "/export.json", self._signed(self.export_json))

    def _signed(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def run(request: web.Request) -> web.StreamResponse:
            who = await self.signin.sessions.who(request.cookies.get(SESSION_COOKIE))
            ctx = await self.workspaces.get(Team(str(who["t"]))) if who else None
            if who is None or ctx is None:
                back = "" if request.path == "/ui/live.json" else "?" + urlencode({"next": request.path_qs})
                raise web.HTTPFound(LOGIN + back)
            return await handler(request, ctx, who)

        return run

    def _page(self, name: str, status: int = 200, **values: Any) -> web.Response:
        html = self.jinja.get_template(name).render(**values)
        return web.Response(text=html, content_type="text/html", status=status)

    async def home(self, _request: web.Request) -> web.Response:
        raise web.HTTPFound("/ui/")

    async def incidents(
        self, request: web.Request, ctx: WorkspaceServices, who: dict[str, Any]
    ) -> web.Response:
        f = _filters(request.query, ctx.policy.fields)
        rows, total = await ctx.reports.incidents(f, who["u"])
        pages = max((total + PER_PAGE - 1) // PER_PAGE, 1)
        query = {k: v for k, v in request.query.items() if k != "page"}
        return self._page(
            "incidents.html",
            who=who,
            rows=rows,
            total=total,
            f=f,
            pages=pages,
            query=query,
            sorts=SORTS,
            now=ctx.clock.now(),
            names=await ctx.reports.names(i.commander_id for i in rows),
            services=await ctx.reports.service_names(ctx.catalog.current, who["u"]),
            selects=[s for s in ctx.policy.fields if s.type in ("select", "multi_select")],
            chosen=dict(f.fields),
        )

    async def incident(
        self, request: web.Request, ctx: WorkspaceServices, who: dict[str, Any]
    ) -> web.Response:
        part = _int(request.query.get("part"), 1, 1, 100000)
        page = await ctx.reports.incident(int(request.match_info["number"]), who["u"], part, TIMELINE_PAGE)
        if page is None:
            return self._page("missing.html", status=404, who=who)
        return self._page(
            "incident.html",
            who=who,
            p=page,
            i=page.incident,
            team=ctx.team.team_id,
            postmortem_html=self.md.render(page.draft_md),
            entries=page.entries,
            part=part,
            parts=max((page.total_entries + TIMELINE_PAGE - 1) // TIMELINE_PAGE, 1),
            first=(part - 1) * TIMELINE_PAGE + 1,
            now=ctx.clock.now(),
        )

    async def postmortem_md(
        self, request: web.Request, ctx: WorkspaceServices, who: dict[str, Any]
    ) -> web.StreamResponse:
        return await self.exports.markdown(request, ctx.reports, who["u"])

    async def export_json(
        self, request: web.Request, ctx: WorkspaceServices, who: dict[str, Any]
    ) -> web.StreamResponse:
        return await self.exports.json(request, ctx.reports, who["u"])

    async def metrics(
        self, request: web.Request, ctx: WorkspaceServices, who: dict[str, Any]
    ) -> web.Response:
        days = _int(request.query.get("days"), 90, 7, 730)
        m = await ctx.reports.metrics(days, who["u"])
        weeks = sorted({w for w, _, _ in m.weekly})
        weekly: dict[str, dict[str, float]] = {}
        for week, severity, n in m.weekly:
            weekly.setdefault(severity, {})[week] = float(n)

        months = sorted({month for month, *_ in m.tta + m.ttr})
        table: dict[tuple[str, str], list[float | None]] = {}
        for at, rows in ((0, m.tta), (2, m.ttr)):
            for month, severity, _n, p50, p90 in rows:
                cells = table.setdefault((month, severity), [None, None, None, None])
                cells[at], cells[at + 1] = round(p50 / 60, 1), round(p90 / 60, 1)
        return self._page(
            "metrics.html",
            who=who,
            m=m,
            days=days,
            weekly_svg=charts.bars("Incidents per week by severity", weeks, weekly),
            mtta_svg=charts.bars("MTTA, median (minutes)", months, _medians(m.tta), " min"),
            mttr_svg=charts.bars("MTTR, median (minutes)", months, _medians(m.ttr), " min"),
            names=await ctx.reports.names(r.user for r in m.load),
            times=sorted(table.items()),
        )

    async def services(
        self, _request: web.Request, ctx: WorkspaceServices, who: dict[str, Any]
    ) -> web.Response:
        rows = await ctx.reports.services(ctx.catalog.current, SERVICE_DAYS, who["u"])
        return self._page("services.html", who=who, rows=rows, days=SERVICE_DAYS, now=ctx.clock.now())

    async def live(self, request: web.Request, ctx: WorkspaceServices, who: dict[str, Any]) -> web.Response:
        rows = await ctx.reports.live(who["u"])
        now = ctx.clock.now()
        return web.json_response(
            {
                "open": [
                    {
                        "number": i.number,
                        "ref": i.ref,
                        "severity": str(i.severity),
                        "status": i.status,
                        "title": i.title,
                        "age": _duration(now - i.declared_at),
                    }
                    for i in rows
                ]
            }
        )


def _medians(rows: list[tuple[str, str, int, float, float]]) -> dict[str, dict[str, float]]:
    """severity → month → median in minutes."""
    out: dict[str, dict[str, float]] = {}
    for month, severity, _n, p50, _p90 in rows:
        out.setdefault(severity, {})[month] = round(p50 / 60, 1)
    return out


def _int(text: str | None, default: int, low: int, high: int) -> int:
    try:
        return min(max(int(text or default), low), high)
    except ValueError:
        return default


def _date(text: str | None, end: bool = False) -> datetime | None:
    """The day's start (or, `end`, the next day's); None when not a date, or no bound (9999-12-31's end)."""
    try:
        day = datetime.strptime(text or "", "%Y-%m-%d").replace(tzinfo=UTC)
        return day + timedelta(days=1) if end else day
    except (ValueError, OverflowError):
        return None


def _filters(q: Any, fields: tuple[CustomField, ...] = ()) -> Filters:
    status = q.get("status") if q.get("status") in ("open", "resolved") else None
    severity = q.get("severity") if q.get("severity") in charts.SEVERITIES else None
    sort = q.get("sort") if q.get("sort") in SORTS else "declared"
    return Filters(
        status=status,
        severity=severity,
        since=_date(q.get("from")),
        until=_date(q.get("to"), end=True),
        text=(q.get("q") or "").replace("\x00", "").strip()[:200] or None,  # PostgreSQL text holds no NUL
        service=q.get("service") or None,  # one no service has matches nothing (storage says which)
        fields=_field_filters(q, fields),
        sort=sort,
        descending=q.get("dir", "desc") != "asc",
        page=_int(q.get("page"), 1, 1, 100000),
        per_page=PER_PAGE,
    )


def _field_filters(q: Any, fields: tuple[CustomField, ...]) -> tuple[tuple[str, str], ...]:
    """`field.<name>=<option>` filters: an option in any case as the policy spells it; anything else
    is kept as given, and matches nothing (storage says which)."""
    out: dict[str, str] = {}
    for key, value in q.items():
        name, given = key.removeprefix("field."), value.strip()
        if key.startswith("field.") and given and name not in out and len(out) < MAX_FIELD_FILTERS:
            spec = next((f for f in fields if f.name == name), None)
            options = spec.options if spec else ()
            out[name] = next((o for o in options if o.lower() == given.lower()), given)
    return tuple(out.items())


def _duration(delta: timedelta | None) -> str:
    if delta is None:
        return "—"
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 0)}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    return f"{hours // 24}d {hours % 24}h"


def mount(
    app: web.Application, settings: Settings, workspaces: Workspaces, client: AsyncWebClient, db: Database
) -> None:
    """The web view on `app` under /ui/, signed in with Slack; `client` reaches Slack's Web API, `db`
    keeps the sessions."""
    secret = settings.incident_bot_session_secret
    signer = Signer(secret.get_secret_value() if secret else "")
    signin = SignIn(settings, workspaces, client, signer, Sessions(db, signer))
    others = OtherRequests()  # the web view's downloads give way to them
    app.middlewares.append(others.middleware)
    WebView(workspaces, signin, others).add_routes(app)
    safety.protect(app)
