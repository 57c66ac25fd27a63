"""A local Slack: a Web API server the bot talks to, and a driver that plays Slack towards the bot.

async with SlackEmulator(now=clock.timestamp) as emu:       # emu.base_url -> AsyncWebClient(base_url=...)
    alice = emu.add_user("alice")
    ops = emu.add_channel("ops", members=["U0BOT", alice])
    async with SlackDriver(emu, "http://127.0.0.1:3000/slack/events", signing_secret) as slack:
        await slack.command(alice, ops, "declare sev2 Checkout down")
    print(emu.transcript())
"""

from slack_emulator.driver import DriverResult, SlackDriver, SlackDriverError, ViewAnswer
from slack_emulator.server import Call, SlackEmulator

__all__ = ["Call", "DriverResult", "SlackDriver", "SlackDriverError", "SlackEmulator", "ViewAnswer"]
