"""A local Slack: a Web API server the bot talks to, and a driver that plays Slack towards the bot.

async with SlackEmulator(now=clock.timestamp) as emu:       # emu.base_url -> AsyncWebClient(base_url=...)
    alice = emu.add_user("alice")
    ops = emu.add_channel("ops", members=["U0BOT", alice])
    async with SlackDriver(emu, "http://127.0.0.1:3000/slack/events", signing_secret) as slack:
        await slack.command(alice, ops, "declare sev2 Checkout down")
    print(emu.transcript())

More workspaces, installed by the app's own "Add to Slack" (OAuth v2) flow:
    emu.register_app(client_id, client_secret)         # the app's authorization_url: emu.authorize_url
    acme = emu.add_workspace("T0ACME", "Acme Corp")     # its own users, channels and bot user
    async with SlackDriver(emu, events_url, signing_secret, team="T0ACME") as slack:
        await slack.install("http://127.0.0.1:3000/slack/install")
        ...
        await slack.uninstall()             # revokes its tokens; sends tokens_revoked and app_uninstalled

Sign in with Slack (OpenID Connect), for a web view: send the browser to emu.openid_authorize_url (with
client_id, redirect_uri, scope=openid profile email, state, nonce); it lists the people to pick from, or with
user=U... (the emulator's own parameter) redirects at once. openid.connect.token and openid.connect.userInfo
answer as Slack does, the id_token signed HS256 with the client secret.
"""

from slack_emulator.driver import DriverResult, SlackDriver, SlackDriverError, ViewAnswer
from slack_emulator.server import Call, SlackEmulator
from slack_emulator.state import Workspace

__all__ = [
    "Call",
    "DriverResult",
    "SlackDriver",
    "SlackDriverError",
    "SlackEmulator",
    "ViewAnswer",
    "Workspace",
]
