"""One running incident-bot: database, Slack app, background work; started and stopped as a unit."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Literal

import aiohttp
import httpx
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import slack_edge
from bot.app import Shared, build_app, build_client, build_shared, build_workspaces
from bot.background import CALENDAR_SECONDS, Heartbeat, fetch_outside
from bot.net import describe
from bot.oauth import INSTALL_PATH, REDIRECT_PATH, oauth_settings
from bot.policy_files import read_policy_files
from bot.scheduler import TICK_SECONDS, Ticker
from bot.supervisor import merged
from config.errors import ConfigError
from config.policy import Policy
from config.settings import Settings
from domain.workspace import Team
from runtime.clock import Clock, SystemClock
from runtime.metrics import CONTENT_TYPE
from runtime.tokens import InstalledTokens, SingleToken
from runtime.workspaces import Workspaces
from services.workspace import WorkspaceServices
from storage import migrate
from storage.claims import release_everything
from storage.db import Database
from storage.inbox import InboxRepo

log = logging.getLogger(__name__)

SLACK_PATH = slack_edge.SLACK_PATH
# What a process runs. "all": serving and working in one process (the tests' harness, the shell);
# "web": Slack, the webhooks and the web view, storing requests but carrying none out; "worker": the
# inbox worker, deliveries and the scheduled jobs, with no Slack or webhook serving.
Role = Literal["all", "web", "worker"]
# Slack's answers that mean the token itself is wrong: retrying cannot help.
TOKEN_REJECTED = frozenset(
    "invalid_auth not_authed account_inactive token_revoked token_expired not_allowed_token_type".split()
)


class Bot:
    """Owns the process's Database, the shared parts, each workspace's WorkspaceServices and the AsyncApp."""

    def __init__(
        self,
        settings: Settings,
        policy: Policy,
        *,
        clock: Clock | None = None,
        scheduler: bool = True,
        role: Role = "all",
    ) -> None:
        self.settings, self.policy, self._clock, self.role = settings, policy, clock, role
        self._shared: Shared | None = None
        self._workspaces: Workspaces | None = None
        self._single: SingleToken | None = None
        self._app: AsyncApp | None = None
        # Tests and the shell move a fake clock and call ctx.tick() themselves.
        self._ticker: Ticker | None = None
        self._use_scheduler = scheduler
        self._slack_ok = False
        self._http: aiohttp.ClientSession | None = None
        self._httpx: httpx.AsyncClient | None = None
        self._delivery: Ticker | None = None
        self._calendars: Ticker | None = None
        self._heartbeat: Heartbeat | None = None
        self._ticks: set[asyncio.Task[None]] = set()
        self._stopping = False
        # A worker in another process (serve's child): /readyz asks it, /metrics adds its figures.
        self.worker_ready: Callable[[], Awaitable[str | None]] | None = None
        self.worker_metrics: Callable[[], Awaitable[bytes | None]] | None = None

    @property
    def shared(self) -> Shared:
        """The parts every workspace shares (after start)."""
        if self._shared is None:
            raise RuntimeError("Bot.start() has not run")
        return self._shared

    @property
    def workspaces(self) -> Workspaces:
        """Each workspace's context (after start)."""
        if self._workspaces is None:
            raise RuntimeError("Bot.start() has not run")
        return self._workspaces

    @property
    def ctx(self) -> WorkspaceServices:
        """The one workspace's context, with SLACK_BOT_TOKEN (after start, once auth.test answered)."""
        contexts = self.workspaces.cached()
        if self._single is None or len(contexts) != 1:
            raise RuntimeError("no single workspace: Bot.ctx is for SLACK_BOT_TOKEN mode after start()")
        return contexts[0]

    @property
    def oauth(self) -> bool:
        """Installed with OAuth into any number of workspaces."""
        return self.settings.oauth

    @property
    def app(self) -> AsyncApp:
        """The Bolt app (after start)."""
        if self._app is None:
            raise RuntimeError("Bot.start() has not run")
        return self._app

    async def start(self, *, run_migrations: bool = True) -> None:
        """Connect, migrate (safe with concurrent replicas), and build the app."""
        self._stopping = False
        db = Database(self.settings.database_url)
        await db.check()
        if run_migrations:
            await migrate.upgrade(db)
        # One HTTP connection pool for the Slack Web API, owned by this bot and closed in stop().
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        # Every other outbound HTTP (webhooks, Statuspage, PagerDuty): one httpx client, closed in stop().
        self._httpx = httpx.AsyncClient(
            timeout=self.policy.delivery.timeout.total_seconds(),
            limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
        )
        if db.is_sqlite and self.role != "web":
            # One worker per SQLite file: claims left by a killed predecessor are free at once.
            async with db.session() as s:
                await InboxRepo(s).release_all()
                await release_everything(s)
        clock = self._clock or SystemClock()
        # A web process runs no ticks: its readiness does not wait for one.
        self._heartbeat = Heartbeat(clock, TICK_SECONDS) if self.role != "web" else None
        # The runbooks and templates are read before anything is served: a bad one stops the start.
        folder = self.settings.policy_folder()
        try:
            runbooks, wordings = await read_policy_files(self.policy, folder, self._httpx, db, clock)
        except Exception:
            await self._close_clients(db)
            raise
        shared = self._shared = build_shared(
            self.settings, self.policy, db, clock, self._http, self._httpx, runbooks, wordings
        )
        client = build_client(self.settings, shared.metrics, self._http, self._bot_token())
        if self.oauth:
            store, oauth = oauth_settings(self.settings, db, self._installed)
            self._workspaces = build_workspaces(shared, InstalledTokens(store))
        else:
            # Asking whose token this is must not ride out an outage with retries: due work waits.
            plain = AsyncWebClient(
                token=self._bot_token(),
                base_url=self.api_url(),
                timeout=10,
                session=self._http,
                retry_handlers=[],
            )
            self._single = SingleToken(self._bot_token() or "", plain, db, clock)
            self._workspaces = build_workspaces(shared, self._single)
            oauth = None
        self._app = build_app(shared, self._workspaces, client, oauth)
        shared.outbox.on_filed = self._filed
        if self._use_scheduler and self.role != "web":
            shared.worker.start()
            self._ticker = Ticker(self._tracked(self.tick))
            shared.wake = self._ticker.wake
            self._ticker.start()
            # Deliveries have their own job: a slow receiver never holds up a page.
            self._delivery = Ticker(self._tracked(shared.outbox.deliver_due))
            self._delivery.start()
            # So do calendars: paging reads their last good copy and never waits on a calendar server.
            # Not tracked: stop() cancels a fetch in flight rather than wait for its deadline.
            self._calendars = Ticker(self.refresh_calendars, CALENDAR_SECONDS)
            self._calendars.start()

    async def _filed(self, team_id: str, followup_id: int, tracker: str, key: str, url: str | None) -> None:
        """A follow-up was filed as an issue: its workspace records and posts the link."""
        team = next((t for t in await self.workspaces.tokens.teams() if t.team_id == team_id), Team(team_id))
        ctx = await self.workspaces.get(team)
        if ctx is None:
            raise RuntimeError(f"the app is not installed in workspace {team_id}")
        await ctx.followups.filed(followup_id, tracker, key, url)

    def _bot_token(self) -> str | None:
        token = self.settings.slack_bot_token
        return token.get_secret_value() if token else None

    def _installed(self, team: Team) -> None:
        """A workspace installed the app (again): its next request reads the new token."""
        self.workspaces.installed(team)
        log.info("workspace %s installed the app", team.team_id)
        if self._ticker is not None:
            self._ticker.wake()  # a reinstall picks up its due work now

    async def tick(self) -> int:
        """One pass of due work in every installed workspace."""
        handled = 0
        for ctx in await self.workspaces.all():
            handled += await ctx.tick()
        if self._heartbeat is not None:
            self._heartbeat.beat()
        return handled

    async def refresh_calendars(self) -> int:
        """The calendar job: fetch every workspace's due calendars and the runbooks given by URL
        (each bounded), all at once; beside them, each workspace's people pass (users.info)."""
        return await fetch_outside(self.shared.runbooks, await self.workspaces.all())

    async def settle(self) -> None:
        """Carry out everything acknowledged and due now, and wait for read-only replies (tests, shell)."""
        await self.shared.worker.settle()
        await self.shared.tasks.idle(timeout=30)

    def _tracked(self, work: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
        """`work` as a tick that stop() lets finish (the scheduler's shutdown would cancel it)."""

        async def tick() -> None:
            task = asyncio.current_task()
            if self._stopping or task is None:
                return
            self._ticks.add(task)
            try:
                await work()
            finally:
                self._ticks.discard(task)

        return tick

    async def stop(self) -> None:
        """Let the steps in flight finish (bounded by `delivery.shutdown_grace`), hand back the rest
        of the inbox for the next start, then close connections. Stop serving requests first."""
        if self._shared is None:
            return
        shared = self._shared
        grace = self.policy.delivery.shutdown_grace.total_seconds()
        # The scheduler's shutdown cancels a running tick (mid-transaction, with a traceback in the
        # log): start no new work, let the ticks in flight end, then shut it down.
        self._stopping = True
        await asyncio.sleep(0)  # a tick the scheduler has just created starts, sees _stopping, returns
        if self._ticks:
            await asyncio.wait(set(self._ticks), timeout=grace)
        for ticker in (self._ticker, self._delivery, self._calendars):
            if ticker is not None:
                ticker.shutdown()
        self._ticker = self._delivery = self._calendars = None
        await shared.worker.stop(grace)
        try:
            await shared.tasks.idle(grace)
        except TimeoutError:
            log.warning("stopping with %d read-only replies unfinished", len(shared.tasks))
        await self._close_clients(shared.db)
        self._shared = self._workspaces = self._single = None

    async def _close_clients(self, db: Database) -> None:
        await db.dispose()
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._httpx is not None:
            await self._httpx.aclose()
            self._httpx = None

    async def check_slack(self, timeout: float = 10) -> bool:
        """auth.test once: True when Slack accepts the bot token, False when Slack does not answer
        (logged; /readyz keeps asking); ConfigError when Slack rejects the token. With OAuth there
        is no one token: True."""
        if self.oauth:
            self._slack_ok = True
            return True
        client = AsyncWebClient(
            token=self._bot_token(),
            base_url=self.api_url(),
            timeout=int(timeout),
            session=self._http,
        )
        try:
            found = await asyncio.wait_for(client.auth_test(), timeout)
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            if error in TOKEN_REJECTED:
                raise ConfigError(
                    f"SLACK_BOT_TOKEN: Slack rejected the bot token ({error}); check the xoxb- token "
                    "(and SLACK_API_URL)"
                ) from None
            log.warning("Slack answered auth.test with %s; /readyz reports it until Slack accepts", error)
            return False
        except Exception as exc:
            log.warning("cannot reach Slack at %s (%s); /readyz reports it", client.base_url, describe(exc))
            return False
        if self._single is not None:
            await self._single.known(found.data)
        self._slack_ok = True
        return True

    def web_app(self, *, slack: bool = True) -> web.Application:
        """HTTP routes (after start): Slack's request URL (when serving HTTP), health, and the webhooks
        the features registered."""
        web_app = web.Application()
        if slack:
            secret = self.settings.slack_signing_secret
            events = slack_edge.handler(
                lambda: self.app, lambda: self.shared.metrics, secret.get_secret_value() if secret else None
            )
            web_app.router.add_post(SLACK_PATH, events)
        web_app.router.add_get("/healthz", self._healthz)
        web_app.router.add_get("/readyz", self._readyz)
        web_app.router.add_get("/metrics", self._metrics)
        for path in self.shared.webhooks:
            web_app.router.add_post(path, self._webhook(path))
        if slack and self.oauth:
            web_app.router.add_get(INSTALL_PATH, self._oauth)
            web_app.router.add_get(REDIRECT_PATH, self._oauth)
        if self.settings.web_view:
            from web.routes import mount  # only a bot that serves the web view loads it

            mount(
                web_app,
                self.settings,
                self.workspaces,
                AsyncWebClient(base_url=self.api_url(), session=self._http),
                self.shared.db,
            )
        return web_app

    def _webhook(self, path: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """The handler a feature registered for `path`, as the bot that is running has it."""

        async def handle(request: web.Request) -> web.StreamResponse:
            return await self.shared.webhooks[path](request)

        return handle

    def api_url(self) -> str:
        """SLACK_API_URL, ending in a slash."""
        url = self.settings.slack_api_url
        return url if url.endswith("/") else url + "/"

    async def _oauth(self, request: web.Request) -> web.Response:
        """ "Add to Slack": the install page and Slack's redirect back, both Bolt's OAuth flow."""
        flow = self.app.oauth_flow
        if flow is None:
            raise web.HTTPNotFound()
        bolt_request = await to_bolt_request(request)
        if request.path == INSTALL_PATH:
            return await to_aiohttp_response(await flow.handle_installation(bolt_request))
        return await to_aiohttp_response(await flow.handle_callback(bolt_request))

    async def _healthz(self, _request: web.Request) -> web.Response:
        """Liveness: the process is up and serving."""
        return web.json_response({"status": "ok"})

    def probe_app(self) -> web.Application:
        """A worker's HTTP: /healthz, /readyz and /metrics only."""
        probes = web.Application()
        probes.router.add_get("/healthz", self._healthz)
        probes.router.add_get("/readyz", self._readyz)
        probes.router.add_get("/metrics", self._metrics)
        return probes

    async def _readyz(self, _request: web.Request) -> web.Response:
        """Readiness: the database answers, Slack accepted our token (auth.test) at least once (with
        OAuth, once the database answers; a worker does not ask), and where ticks run, the paging tick
        completed recently (in serve's worker child, asked over its own /readyz)."""
        if self._shared is None or not await self._shared.db.ping():
            return web.json_response({"status": "database unreachable"}, status=503)
        if not self._slack_ok and self.role != "worker":
            try:
                if not self.oauth and (self._single is None or await self._single.check() is None):
                    raise RuntimeError("auth.test did not answer")
                self._slack_ok = True
            except Exception as exc:
                log.warning("readiness: auth.test failed: %s", exc)
                return web.json_response({"status": "slack auth.test failed"}, status=503)
        stuck = self._heartbeat.stuck() if self._heartbeat else None
        if stuck is None and self.worker_ready is not None:
            stuck = await self.worker_ready()
        return web.json_response({"status": stuck or "ok"}, status=503 if stuck else 200)

    async def _metrics(self, _request: web.Request) -> web.Response:
        """Prometheus metrics of the process (open incidents summed over its workspaces)."""
        totals: dict[str, int] = {}
        for ctx in await self.workspaces.all():
            for severity, n in (await ctx.lifecycle.open_counts()).items():
                totals[severity] = totals.get(severity, 0) + n
        metrics = self.shared.metrics
        for severity in ("SEV1", "SEV2", "SEV3", "SEV4"):
            metrics.open_incidents.labels(severity).set(totals.get(severity, 0))
        body = metrics.render()
        theirs = await self.worker_metrics() if self.worker_metrics is not None else None
        if theirs is not None:
            body = merged(body, theirs)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})
