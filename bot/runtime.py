"""One running incident-bot: database, Slack app, background work; started and stopped as a unit."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import hmac
import json
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import build_app, build_context
from bot.scheduler import Ticker
from config.errors import ConfigError, Unavailable
from config.policy import Policy
from config.settings import Settings
from domain.alerts import PayloadError
from domain.alerts import parse as parse_alerts
from services.clock import Clock, SystemClock
from services.context import BotContext
from services.metrics import CONTENT_TYPE
from storage import migrate
from storage.db import Database
from storage.handoffs import HandoffRepo
from storage.inbox import InboxRepo, NewItem
from storage.schedule import ScheduleRepo

log = logging.getLogger(__name__)

SLACK_PATH = "/slack/events"
ALERTMANAGER_PATH = "/webhooks/alertmanager"
ALERTMANAGER_DEDUP_SECONDS = 60
# Slack's answers that mean the token itself is wrong: retrying cannot help.
TOKEN_REJECTED = frozenset(
    "invalid_auth not_authed account_inactive token_revoked token_expired not_allowed_token_type".split()
)


class Bot:
    """Owns the process's Database, BotContext and AsyncApp."""

    def __init__(
        self, settings: Settings, policy: Policy, *, clock: Clock | None = None, scheduler: bool = True
    ) -> None:
        self.settings, self.policy, self._clock = settings, policy, clock
        self._ctx: BotContext | None = None
        self._app: AsyncApp | None = None
        # Tests and the shell move a fake clock and call ctx.tick() themselves.
        self._ticker: Ticker | None = None
        self._use_scheduler = scheduler
        self._slack_ok = False
        self._http: aiohttp.ClientSession | None = None
        self._httpx: httpx.AsyncClient | None = None
        self._delivery: Ticker | None = None
        self._ticks: set[asyncio.Task[None]] = set()
        self._stopping = False

    @property
    def ctx(self) -> BotContext:
        """The wired services (after start)."""
        if self._ctx is None:
            raise RuntimeError("Bot.start() has not run")
        return self._ctx

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
        if db.is_sqlite:
            # One process owns an SQLite file: claims left by a killed predecessor are free at once.
            async with db.session() as s:
                await InboxRepo(s).release_all()
                await ScheduleRepo(s).release_all()
                await HandoffRepo(s).release_all()
        clock = self._clock or SystemClock()
        self._ctx = build_context(self.settings, self.policy, db, clock, self._http, self._httpx)
        self._app = build_app(self._ctx)
        if self._use_scheduler:
            ctx = self._ctx
            ctx.worker.start()
            self._ticker = Ticker(self._tracked(ctx.tick))
            ctx.lifecycle.wake = self._ticker.wake
            self._ticker.start()
            # Deliveries have their own job: a slow receiver never holds up a page.
            self._delivery = Ticker(self._tracked(ctx.outbox.deliver_due))
            self._delivery.start()

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
        if self._ctx is None:
            return
        grace = self.policy.delivery.shutdown_grace.total_seconds()
        # The scheduler's shutdown cancels a running tick (mid-transaction, with a traceback in the
        # log): start no new work, let the ticks in flight end, then shut it down.
        self._stopping = True
        await asyncio.sleep(0)  # a tick the scheduler has just created starts, sees _stopping, returns
        if self._ticks:
            await asyncio.wait(set(self._ticks), timeout=grace)
        for ticker in (self._ticker, self._delivery):
            if ticker is not None:
                ticker.shutdown()
        self._ticker = self._delivery = None
        await self._ctx.worker.stop(grace)
        try:
            await self._ctx.tasks.idle(grace)
        except TimeoutError:
            log.warning("stopping with %d read-only replies unfinished", len(self._ctx.tasks))
        await self._ctx.db.dispose()
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._httpx is not None:
            await self._httpx.aclose()
            self._httpx = None
        self._ctx = None

    async def check_slack(self, timeout: float = 10) -> bool:
        """auth.test once: True when Slack accepts the bot token, False when Slack does not answer
        (logged; /readyz keeps asking); ConfigError when Slack rejects the token."""
        token = self.settings.slack_bot_token
        client = AsyncWebClient(
            token=token.get_secret_value() if token else None,
            base_url=self.ctx.client.base_url,
            timeout=int(timeout),
            session=self._http,
        )
        try:
            await asyncio.wait_for(client.auth_test(), timeout)
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
        self._slack_ok = True
        return True

    def web_app(self, *, slack: bool = True) -> web.Application:
        """HTTP routes: Slack's request URL (when serving HTTP) and health."""
        web_app = web.Application()
        if slack:
            web_app.router.add_post(SLACK_PATH, self._slack_events)
        web_app.router.add_get("/healthz", self._healthz)
        web_app.router.add_get("/readyz", self._readyz)
        web_app.router.add_get("/metrics", self._metrics)
        web_app.router.add_post(ALERTMANAGER_PATH, self._alertmanager)
        return web_app

    async def _slack_events(self, request: web.Request) -> web.Response:
        started = time.perf_counter()
        bolt_request = await to_bolt_request(request)
        bolt_response = await self.app.async_dispatch(bolt_request)
        self.ctx.metrics.request_seconds.labels(_kind(bolt_request.body)).observe(
            time.perf_counter() - started
        )
        return await to_aiohttp_response(bolt_response)

    async def _healthz(self, _request: web.Request) -> web.Response:
        """Liveness: the process is up and serving."""
        return web.json_response({"status": "ok"})

    async def _readyz(self, _request: web.Request) -> web.Response:
        """Readiness: the database answers and Slack accepted our token (auth.test) at least once."""
        if self._ctx is None or not await self._ctx.db.ping():
            return web.json_response({"status": "database unreachable"}, status=503)
        if not self._slack_ok:
            try:
                await self._ctx.client.auth_test()
                self._slack_ok = True
            except Exception as exc:
                log.warning("readiness: auth.test failed: %s", exc)
                return web.json_response({"status": "slack auth.test failed"}, status=503)
        return web.json_response({"status": "ok"})

    async def _alertmanager(self, request: web.Request) -> web.Response:
        """Alertmanager webhook (v4), bearer-token protected; 404 while no token is configured."""
        token = self.settings.alertmanager_token
        if token is None or not token.get_secret_value():
            raise web.HTTPNotFound()
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token.get_secret_value()}".encode()):
            return web.json_response({"error": "missing or wrong bearer token"}, status=401)
        body = await request.read()
        try:
            notification = parse_alerts(body)
        except PayloadError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        group = hashlib.sha256(notification.group_key.encode()).hexdigest()
        content = hashlib.sha256(notification.group_key.encode() + b"\n" + body).hexdigest()
        # Alertmanager repeats a still-firing group every repeat_interval with the same body: only a
        # copy within the same minute (a retry, the HA peer's) is a duplicate. A copy carried out
        # again changes nothing, as the intake compares with the alert states it recorded.
        minute = int(self.ctx.clock.now().timestamp()) // ALERTMANAGER_DEDUP_SECONDS
        item = NewItem(
            idem_key=f"am:{content}:{minute}",
            order_key=f"alert:{group}",
            op="alert",
            payload=json.dumps({"body": body.decode()}),
        )
        try:
            new = await self.ctx.inbox.accept(item)
        except Exception as exc:
            log.error("could not store an Alertmanager notification: %s", exc)
            return web.json_response({"error": "could not store the notification; retry"}, status=503)
        return web.json_response({"status": "accepted" if new else "duplicate"})

    async def _metrics(self, _request: web.Request) -> web.Response:
        ctx = self.ctx
        counts = await ctx.lifecycle.open_counts()
        for severity in ("SEV1", "SEV2", "SEV3", "SEV4"):
            ctx.metrics.open_incidents.labels(severity).set(counts.get(severity, 0))
        return web.Response(body=ctx.metrics.render(), headers={"Content-Type": CONTENT_TYPE})


def _kind(body: dict) -> str:  # type: ignore[type-arg]
    """command, event, block_actions, view_submission, … for the latency histogram."""
    if "command" in body:
        return "command"
    kind = body.get("type")
    if kind == "event_callback":
        return "event"
    return str(kind or "other")


async def listen(runner: web.AppRunner, host: str, port: int) -> None:
    """Serve `runner` on host:port (quietly: the caller says so); a port not to be had is a one-line error."""
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except socket.gaierror:
        raise ConfigError(f"--host: cannot listen on {host!r}: not a local address or host name") from None
    except OSError as exc:
        where = f"{host}:{port}"
        if exc.errno == errno.EADDRINUSE:
            raise Unavailable(
                f"port {port} is already in use on {host}: stop what listens there, or choose another port "
                "with serve --port"
            ) from None
        if exc.errno == errno.EACCES:
            raise ConfigError(f"--port: no permission to listen on {where} (use a port above 1023)") from None
        raise Unavailable(f"cannot listen on {where}: {describe(exc)}; check --host and --port") from None


def describe(exc: BaseException) -> str:
    """An exception as a short phrase for a one-line message."""
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno).lower()
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
