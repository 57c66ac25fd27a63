"""The floor for bench/ack.py: a bare Bolt AsyncApp on aiohttp that only acks."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


async def main(port: int) -> None:
    client = AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"])
    # process_before_response: answer as soon as the listener returns (no polling for the ack).
    app = AsyncApp(
        client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"], process_before_response=True
    )

    @app.command("/incident")
    async def command(ack: AsyncAck) -> None:
        await ack()

    @app.event("message")
    async def message() -> None:
        return None

    @app.event("reaction_added")
    async def reaction() -> None:
        return None

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    async def healthz(_request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    web_app = web.Application()
    web_app.router.add_post("/slack/events", events)
    web_app.router.add_get("/healthz", healthz)
    runner = web.AppRunner(web_app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    asyncio.run(main(parser.parse_args().port))
