"""`incident-bot serve`: the bot on HTTP, and in Socket Mode a connection to Slack kept up in the
background, so /healthz answers and SIGTERM stops the process whatever Slack does. It stores what
Slack asks for; the worker carries it out: a child process it starts (bot/supervisor.py), or, with
--no-worker, `incident-bot worker` processes run apart."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Coroutine
from typing import Any

from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.net import describe, listen
from bot.runtime import TOKEN_REJECTED, Bot
from bot.supervisor import WorkerChild
from config.errors import ConfigError
from config.policy import Policy
from config.settings import Settings
from runtime.logs import Throttle

log = logging.getLogger("bot")

# Failed attempts are reported at most this often (the SDK's own reconnect reports included).
REPORT_EVERY = 60.0
FIRST_RETRY, MAX_RETRY = 1.0, 30.0
# One attempt: apps.connections.open, then the WebSocket handshake.
ATTEMPT_TIMEOUT = 20.0
# Closing waits this long for Slack's side of the WebSocket close handshake.
CLOSE_TIMEOUT = 2.0


async def serve(
    settings: Settings, policy: Policy, *, http: bool, host: str, port: int, child: WorkerChild | None
) -> None:
    """Run until SIGTERM or SIGINT, with `child` (the worker; None with --no-worker) kept running and
    stopped at the end; ConfigError when Slack rejects a token at start (or, before anything starts,
    when the web view's session secret is too short)."""
    settings.check_session_secret()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    bot = Bot(settings, policy, role="web")
    await bot.start()
    if child is not None:
        bot.worker_ready, bot.worker_metrics = child.ready, child.metrics
    runner = web.AppRunner(bot.web_app(slack=http), access_log=None)
    socket_mode: SocketMode | None = None
    try:
        await listen(runner, host, port)
        # /healthz answers from here on, while Slack is asked and (in Socket Mode) connected to. A
        # token Slack rejects ends the start before anything else is said: one line, exit 2.
        slack_ok = await until(stop, bot.check_slack())
        if slack_ok and not http:
            assert settings.slack_app_token is not None
            socket_mode = SocketMode(bot, settings.slack_app_token.get_secret_value())
            await until(stop, socket_mode.try_once())
        if child is not None and not stop.is_set():
            child.start()  # the database and the tokens are good: the worker may start its work
        if not stop.is_set():
            log.info("listening on http://%s:%d", host, port)
        if socket_mode is not None and not socket_mode.connected:
            await until(stop, socket_mode.connect())
        await stop.wait()
        log.info("shutting down")
    finally:
        if child is not None and child.started:
            child.terminate()  # it finishes its step in flight while this process stops serving
        if socket_mode is not None:
            await socket_mode.close()
        await runner.cleanup()
        await bot.stop()
        if child is not None and child.started:
            await child.stop()


async def until(stop: asyncio.Event, work: Coroutine[Any, Any, Any]) -> bool:
    """Run `work` unless `stop` is set first (then cancel it): True when it finished; its errors propagate."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=1)
    if task.cancelled():
        return False
    task.result()
    return True


class SocketMode:
    """The Socket Mode connection of `bot`: connect() retries with backoff until Slack takes it; the
    SDK then reconnects by itself. Every report of a failed attempt shares one budget per minute."""

    def __init__(self, bot: Bot, app_token: str) -> None:
        self._token = app_token
        self.connected = False
        self._throttle = Throttle(REPORT_EVERY)
        self._report = logging.getLogger("bot.socket_mode")
        self._sdk_log = logging.getLogger("slack_sdk.socket_mode")
        for logger in (self._report, self._sdk_log):
            logger.addFilter(self._throttle)
        # Without the bot client's retry handlers: the backoff here decides when to try again.
        self._web = AsyncWebClient(base_url=bot.api_url(), timeout=int(ATTEMPT_TIMEOUT))
        self.handler = AsyncSocketModeHandler(bot.app, app_token, logger=self._sdk_log, web_client=self._web)

    async def connect(self) -> None:
        """Try until connected, waiting longer after each failure."""
        delay = FIRST_RETRY
        while not await self.try_once():
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY)

    async def try_once(self) -> bool:
        """One attempt: True when connected; a failure is reported (throttled) unless Slack rejects
        the app-level token, which raises ConfigError."""
        try:
            async with asyncio.timeout(ATTEMPT_TIMEOUT):
                opened = await self._web.apps_connections_open(app_token=self._token)
                self.handler.client.wss_uri = opened["url"]
                await self.handler.client.connect()
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            if error in TOKEN_REJECTED:
                raise ConfigError(
                    f"SLACK_APP_TOKEN: Slack rejected the app-level token ({error}); check the xapp- "
                    "token and its connections:write scope"
                ) from None
            answer = error if exc.response.get("error") else f"HTTP {exc.response.status_code}"
            reason = f"apps.connections.open answered {answer}"
        except Exception as exc:
            reason = describe(exc)
        else:
            self.connected = True
            log.info("connected to Slack in Socket Mode")
            return True
        self._report.warning(
            "cannot connect to Slack in Socket Mode (%s); retrying (reported once a minute at most)", reason
        )
        return False

    async def close(self) -> None:
        """Disconnect; a Slack that does not answer the close handshake does not hold up the stop."""
        client = self.handler.client
        try:
            await asyncio.wait_for(client.close(), CLOSE_TIMEOUT)
        except Exception as exc:
            log.debug("Socket Mode close: %s", describe(exc))
            for task in (client.message_processor, client.current_session_monitor, client.message_receiver):
                if task is not None:
                    task.cancel()
            with contextlib.suppress(Exception):
                await client.aiohttp_client_session.close()
        finally:
            for logger in (self._report, self._sdk_log):
                logger.removeFilter(self._throttle)
