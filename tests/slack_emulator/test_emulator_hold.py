"""A call held in flight: it waits for its release, later calls of the method do not, and it is then
carried out with what it asked for."""

from __future__ import annotations

import asyncio

from slack_sdk.web.async_client import AsyncWebClient

from slack_emulator import SlackEmulator


async def test_the_next_call_waits_for_its_release_and_the_one_after_does_not(
    emulator: SlackEmulator,
) -> None:
    client = AsyncWebClient(base_url=emulator.base_url, token=emulator.bot_token)
    general = emulator.add_channel("general", channel_id="C0GENERAL", members=["U0BOT"])
    held = emulator.hold("chat.postMessage")
    first = asyncio.create_task(client.chat_postMessage(channel=general, text="first"))
    await asyncio.wait_for(held.arrived.wait(), 5)
    second = await client.chat_postMessage(channel=general, text="second")
    assert second["ok"] and [m["text"] for m in emulator.messages(general)] == ["second"]
    assert not first.done()
    held.release()
    assert (await asyncio.wait_for(first, 5))["ok"]
    assert [m["text"] for m in emulator.messages(general)] == ["second", "first"]
