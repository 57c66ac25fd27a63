"""SlackDriver against a real Bolt AsyncApp served over HTTP: payload shapes, signing, and round trips."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from slack_emulator import SlackDriver, SlackDriverError, SlackEmulator

SECRET = "driver-test-secret"
BOT = "U0BOT"
MODAL = {
    "type": "modal",
    "callback_id": "declare",
    "title": {"type": "plain_text", "text": "Declare"},
    "submit": {"type": "plain_text", "text": "Declare"},
    "blocks": [
        {
            "type": "input",
            "block_id": "title",
            "label": {"type": "plain_text", "text": "Title"},
            "element": {"type": "plain_text_input", "action_id": "title_input"},
        },
        {
            "type": "input",
            "block_id": "sev",
            "label": {"type": "plain_text", "text": "Severity"},
            "element": {
                "type": "static_select",
                "action_id": "sev_select",
                "options": [
                    {"text": {"type": "plain_text", "text": "SEV1"}, "value": "sev1"},
                    {"text": {"type": "plain_text", "text": "SEV2"}, "value": "sev2"},
                ],
            },
        },
        {
            "type": "input",
            "block_id": "notes",
            "optional": True,
            "label": {"type": "plain_text", "text": "Notes"},
            "element": {"type": "plain_text_input", "action_id": "notes_input"},
        },
    ],
}


class World:
    """An emulator, a Bolt app talking to it, a driver, and a couple of people."""

    def __init__(self, emu: SlackEmulator, app: AsyncApp, driver: SlackDriver) -> None:
        self.emu, self.app, self.driver = emu, app, driver
        self.alice = emu.add_user("alice", user_id="U0ALICE")
        self.ops = emu.add_channel("ops", channel_id="C0OPS", members=[BOT, self.alice])
        self.seen: list[dict[str, Any]] = []


@pytest.fixture
async def world(emulator: SlackEmulator) -> AsyncIterator[World]:
    client = AsyncWebClient(base_url=emulator.base_url, token=emulator.bot_token)
    app = AsyncApp(client=client, signing_secret=SECRET, process_before_response=True)
    runner = web.AppRunner(app.web_app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    async with SlackDriver(emulator, url, SECRET) as driver:
        yield World(emulator, app, driver)
    await runner.cleanup()


async def test_slash_command_payload_and_ephemeral_ack(world: World) -> None:
    @world.app.command("/incident")
    async def handle(ack: Any, command: dict[str, Any]) -> None:
        world.seen.append(command)
        await ack("Declaring…")

    result = await world.driver.command(world.alice, world.ops, "declare sev2 Checkout down")
    assert result.status == 200
    (cmd,) = world.seen
    assert set(cmd) >= {
        "token",
        "team_id",
        "team_domain",
        "channel_id",
        "channel_name",
        "user_id",
        "user_name",
        "command",
        "text",
        "api_app_id",
        "response_url",
        "trigger_id",
    }
    assert (cmd["command"], cmd["text"], cmd["channel_name"]) == (
        "/incident",
        "declare sev2 Checkout down",
        "ops",
    )
    assert cmd["response_url"].startswith(world.emu.url + "respond/")
    (eph,) = world.emu.ephemerals(world.alice)
    assert (eph["text"], eph["source"], eph["channel"]) == ("Declaring…", "ack", world.ops)


async def test_response_url_and_views_open_from_a_command(world: World) -> None:
    @world.app.command("/incident")
    async def handle(ack: Any, respond: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await respond(response_type="in_channel", text="Incident declared")
        await client.views_open(trigger_id=body["trigger_id"], view=MODAL)

    await world.driver.command(world.alice, world.ops, "declare")
    assert [m["text"] for m in world.emu.messages(world.ops)] == ["Incident declared"]
    assert world.emu.responses[-1]["response_type"] == "in_channel"
    assert world.emu.ephemerals(world.alice) == []  # an empty ack shows nothing
    (view,) = world.emu.open_views(world.alice)
    assert view["callback_id"] == "declare" and view["state"] == {"values": {}}


async def test_view_submission_state_errors_and_close(world: World) -> None:
    @world.app.view("declare")
    async def submitted(ack: Any, view: dict[str, Any]) -> None:
        world.seen.append(view["state"]["values"])
        title = view["state"]["values"]["title"]["title_input"]["value"]
        if title == "bad":
            await ack(response_action="errors", errors={"title": "Say what broke"})
        else:
            await ack()

    trigger = world.emu.state.issue_trigger(world.alice)
    view_id = (await world.app.client.views_open(trigger_id=trigger, view=MODAL))["view"]["id"]
    answer = await world.driver.submit_view(
        world.alice, view_id, {"title": {"title_input": "bad"}, "sev": "sev1"}
    )
    assert answer == {"response_action": "errors", "errors": {"title": "Say what broke"}}
    assert world.emu.open_views(world.alice)[0]["id"] == view_id
    state = world.seen[0]
    assert state["sev"]["sev_select"]["type"] == "static_select"
    assert state["sev"]["sev_select"]["selected_option"]["text"]["text"] == "SEV1"
    assert state["notes"]["notes_input"] == {"type": "plain_text_input", "value": None}
    assert await world.driver.submit_view(world.alice, view_id, {"title": "DB down", "sev": "sev2"}) == {}
    assert world.emu.open_views(world.alice) == []
    with pytest.raises(ValueError, match="not open"):
        await world.driver.submit_view(world.alice, view_id, {"title": "again", "sev": "sev2"})


async def test_missing_inputs_and_unknown_options_are_refused_before_sending(world: World) -> None:
    trigger = world.emu.state.issue_trigger(world.alice)
    view_id = (await world.app.client.views_open(trigger_id=trigger, view=MODAL))["view"]["id"]
    with pytest.raises(ValueError, match="required"):
        await world.driver.submit_view(world.alice, view_id, {"sev": "sev2"})
    with pytest.raises(ValueError, match="options"):
        await world.driver.submit_view(world.alice, view_id, {"title": "t", "sev": "sev9"})
    assert world.driver.last is None

    @world.app.view("declare")
    async def submitted(ack: Any, view: dict[str, Any]) -> None:
        assert view["state"]["values"]["sev"]["sev_select"]["selected_option"] is None
        await ack(response_action="errors", errors={"sev": "Pick one"})

    answer = await world.driver.submit_view(world.alice, view_id, {"title": "t"}, enforce_required=False)
    assert answer.status == 200 and answer.json["errors"] == {"sev": "Pick one"}


async def test_say_sends_a_message_event_and_threads(world: World) -> None:
    @world.app.message("help")
    async def helper(message: dict[str, Any], say: Any, body: dict[str, Any]) -> None:
        world.seen.append(body)
        await say(text="Here to help", thread_ts=message["ts"])

    ts = await world.driver.say(world.alice, world.ops, "help please")
    envelope = world.seen[0]
    assert envelope["type"] == "event_callback" and envelope["event_id"].startswith("Ev")
    assert envelope["authorizations"][0]["user_id"] == BOT
    event = envelope["event"]
    assert (event["type"], event["user"], event["ts"], event["event_ts"]) == ("message", world.alice, ts, ts)
    assert event["channel_type"] == "channel"
    reply = world.emu.messages(world.ops)[-1]
    assert (reply["text"], reply["thread_ts"], reply["bot_id"]) == ("Here to help", ts, "B0BOT")
    again = await world.driver.say(world.alice, world.ops, "help again", thread_ts=reply["ts"])
    assert world.seen[1]["event"]["thread_ts"] == ts and world.seen[1]["event"]["ts"] == again


async def test_reactions_edits_and_deletes_become_events(world: World) -> None:
    @world.app.event("reaction_added")
    @world.app.event("reaction_removed")
    async def reacted(event: dict[str, Any]) -> None:
        world.seen.append(event)

    @world.app.event({"type": "message", "subtype": "message_changed"})
    @world.app.event({"type": "message", "subtype": "message_deleted"})
    async def changed(event: dict[str, Any]) -> None:
        world.seen.append(event)

    @world.app.message("")
    async def ignore() -> None:
        pass

    ts = await world.driver.say(world.alice, world.ops, "first draft")
    await world.driver.react(world.alice, world.ops, ts, "eyes")
    await world.driver.unreact(world.alice, world.ops, ts, "eyes")
    await world.driver.edit(world.ops, ts, "second draft")
    await world.driver.delete(world.ops, ts)
    added, removed, edited, deleted = world.seen
    assert added["type"] == "reaction_added" and removed["type"] == "reaction_removed"
    assert (
        added["item"] == {"type": "message", "channel": world.ops, "ts": ts}
        and added["item_user"] == world.alice
    )
    assert edited["subtype"] == "message_changed" and edited["hidden"] is True
    assert edited["message"]["text"] == "second draft" and edited["previous_message"]["text"] == "first draft"
    assert edited["message"]["edited"]["user"] == world.alice
    assert deleted["deleted_ts"] == ts and deleted["previous_message"]["text"] == "second draft"
    assert world.emu.messages(world.ops) == []
    with pytest.raises(ValueError):
        await world.driver.react(world.alice, world.ops, ts, "eyes")


async def test_click_sends_block_actions_and_respond_replaces(world: World) -> None:
    @world.app.action("ack")
    async def acked(ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        world.seen.append(body)
        await respond(replace_original=True, text=f"Acked by <@{body['user']['id']}>")

    blocks = [
        {
            "type": "actions",
            "block_id": "page",
            "elements": [
                {
                    "type": "button",
                    "action_id": "ack",
                    "text": {"type": "plain_text", "text": "Ack"},
                    "value": "inc-7",
                }
            ],
        }
    ]
    ts = (await world.app.client.chat_postMessage(channel=world.ops, text="Paging", blocks=blocks))["ts"]
    result = await world.driver.click(world.alice, world.ops, ts, "ack")
    assert result.ok
    body = world.seen[0]
    assert body["type"] == "block_actions" and body["trigger_id"] == result.trigger_id
    assert body["container"] == {
        "type": "message",
        "message_ts": ts,
        "channel_id": world.ops,
        "is_ephemeral": False,
    }
    assert body["channel"] == {"id": world.ops, "name": "ops"} and body["message"]["ts"] == ts
    action = body["actions"][0]
    assert (action["action_id"], action["block_id"], action["value"], action["type"]) == (
        "ack",
        "page",
        "inc-7",
        "button",
    )
    assert world.emu.messages(world.ops)[0]["text"] == "Acked by <@U0ALICE>"
    assert world.emu.log[-1].lines == ["Acked by @alice"]
    with pytest.raises(ValueError, match="no button"):
        await world.driver.click(world.alice, world.ops, ts, "resolve")


async def test_click_in_a_dm(world: World) -> None:
    @world.app.action("ok")
    async def ok(ack: Any, body: dict[str, Any]) -> None:
        world.seen.append(body)
        await ack()

    blocks = [
        {
            "type": "actions",
            "elements": [{"type": "button", "action_id": "ok", "text": {"type": "plain_text", "text": "OK"}}],
        }
    ]
    resp = await world.app.client.chat_postMessage(channel=world.alice, text="Still on it?", blocks=blocks)
    assert (await world.driver.click(world.alice, resp["channel"], resp["ts"], "ok")).ok
    assert world.seen[0]["channel"]["name"] == "directmessage"


async def test_send_event_retries_keep_the_event_id(world: World) -> None:
    @world.app.event("app_mention")
    async def mentioned(event: dict[str, Any], request: Any) -> None:
        world.seen.append({"event": event, "headers": dict(request.headers)})

    event = {
        "type": "app_mention",
        "user": world.alice,
        "text": "<@U0BOT> status",
        "ts": "1.000001",
        "channel": world.ops,
        "event_ts": "1.000001",
    }
    first = await world.driver.send_event(event)
    again = await world.driver.send_event(
        event, event_id=first.event_id, retry_num=1, retry_reason="http_timeout"
    )
    assert first.ok and again.ok and again.event_id == first.event_id
    assert world.seen[1]["headers"]["x-slack-retry-num"] == ["1"]
    assert world.seen[1]["headers"]["x-slack-retry-reason"] == ["http_timeout"]
    assert "x-slack-retry-num" not in world.seen[0]["headers"]


async def test_signatures_are_checked_by_the_app(world: World) -> None:
    @world.app.event("app_mention")
    async def mentioned() -> None:
        pass

    event = {"type": "app_mention", "user": world.alice, "text": "hi", "ts": "1.000002", "channel": world.ops}
    body = json.dumps({"type": "event_callback", "event": event, "team_id": "T0EMU"}).encode()
    stale = world.driver.sign(body, timestamp=int(time.time()) - 600)
    assert (await world.driver.post_raw(body, "application/json", stale)).status == 401
    forged = {**world.driver.sign(body), "X-Slack-Signature": "v0=" + "0" * 64}
    assert (await world.driver.post_raw(body, "application/json", forged)).status == 401
    assert (await world.driver.post_raw(body, "application/json")).status == 200


async def test_helpers_raise_when_the_app_refuses(world: World, emulator: SlackEmulator) -> None:
    wrong = SlackDriver(emulator, world.driver.app_url, "not-the-secret")
    try:
        with pytest.raises(SlackDriverError, match="401"):
            await wrong.say(world.alice, world.ops, "hello?")
    finally:
        await wrong.close()


async def test_private_channel_events_reach_the_app_only_when_it_is_a_member(world: World) -> None:
    @world.app.event("message")
    @world.app.event("reaction_added")
    async def seen(event: dict[str, Any]) -> None:
        world.seen.append(event)

    bob = world.emu.add_user("bob", user_id="U0BOB")
    secret = world.emu.add_channel("secret", members=[BOT, world.alice], is_private=True)
    hidden = world.emu.add_channel("hidden", members=[world.alice], is_private=True)
    ts = await world.driver.say(world.alice, secret, "psst")
    await world.driver.react(world.alice, secret, ts, "eyes")
    message, reaction = world.seen
    assert (message["channel"], message["channel_type"], message["type"]) == (secret, "group", "message")
    assert reaction["item"] == {"type": "message", "channel": secret, "ts": ts}  # Slack adds no channel_type
    sent = world.driver.last
    await world.driver.say(world.alice, hidden, "the bot is not in here")
    assert world.driver.last is sent and len(world.seen) == 2  # Slack sends nothing to an app outside
    assert world.emu.messages(hidden)[0]["text"] == "the bot is not in here"
    with pytest.raises(ValueError, match="not in the private channel"):
        await world.driver.say(bob, secret, "let me in")


async def test_joining_a_channel_sends_member_joined_channel(world: World) -> None:
    @world.app.event("member_joined_channel")
    async def joined(event: dict[str, Any]) -> None:
        world.seen.append(event)

    bob = world.emu.add_user("bob", user_id="U0BOB")
    secret = world.emu.add_channel("secret", members=[BOT, world.alice], is_private=True)
    hidden = world.emu.add_channel("hidden", members=[world.alice], is_private=True)
    first = await world.driver.join(bob, world.ops)
    await world.driver.join(bob, secret, inviter=world.alice)
    await world.driver.join(world.alice, world.ops, inviter=BOT)  # a member already: only the event
    assert first is not None and first.event_id
    public, private, again = world.seen
    assert public["type"] == "member_joined_channel" and "inviter" not in public
    assert (public["user"], public["channel"], public["channel_type"]) == (bob, world.ops, "C")
    assert (private["channel"], private["channel_type"], private["inviter"]) == (secret, "G", world.alice)
    assert (again["user"], again["inviter"]) == (world.alice, BOT)
    assert (
        bob in world.emu.state.channel(world.ops).members and bob in world.emu.state.channel(secret).members
    )
    assert world.emu.state.channel(world.ops).members.count(world.alice) == 1
    assert await world.driver.join(bob, hidden, inviter=world.alice) is None and len(world.seen) == 3
    with pytest.raises(ValueError, match="uninvited"):
        await world.driver.join(bob, world.emu.add_channel("closed", members=[BOT], is_private=True))


async def test_a_driver_plays_the_default_workspace_unless_told(
    world: World, emulator: SlackEmulator
) -> None:
    assert world.driver.team == "T0EMU" and world.driver.ws is emulator.state
    emulator.add_workspace("T0ACME", "Acme Corp")
    assert SlackDriver(emulator, world.driver.app_url, SECRET, team="T0ACME").team == "T0ACME"
    with pytest.raises(KeyError, match="T0NONE"):
        SlackDriver(emulator, world.driver.app_url, SECRET, team="T0NONE")
