"""The Slack emulator's Web API, driven by the real slack_sdk AsyncWebClient."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient

from slack_emulator import SlackEmulator
from tests.slack_spec import assert_emulator_ok

BOT = "U0BOT"


@pytest.fixture
def client(emulator: SlackEmulator) -> AsyncWebClient:
    """A real Web API client pointed at the emulator."""
    return AsyncWebClient(base_url=emulator.base_url, token=emulator.bot_token)


async def error_of(call: Any) -> str:
    """Await a client call that must fail and return Slack's error code."""
    with pytest.raises(SlackApiError) as info:
        await call
    return str(info.value.response["error"])


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(text: str, action_id: str = "go") -> dict[str, Any]:
    return {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id}


# auth and recording


async def test_auth_test_identifies_the_bot(client: AsyncWebClient) -> None:
    resp = await client.auth_test()
    assert (resp["team_id"], resp["user_id"], resp["bot_id"]) == ("T0EMU", "U0BOT", "B0BOT")
    assert resp["url"] == "https://emulated.slack.test/"


async def test_wrong_or_missing_token_is_refused(emulator: SlackEmulator) -> None:
    bad = AsyncWebClient(base_url=emulator.base_url, token="xoxb-wrong")
    assert await error_of(bad.auth_test()) == "invalid_auth"
    assert await error_of(AsyncWebClient(base_url=emulator.base_url).auth_test()) == "not_authed"


async def test_unknown_method_is_answered_like_slack(client: AsyncWebClient, emulator: SlackEmulator) -> None:
    assert await error_of(client.api_call("chat.bogusMethod")) == "unknown_method"
    emulator.reset_calls()  # deliberately off-spec; keep the teardown spec check for real calls


async def test_calls_are_recorded_without_the_token(client: AsyncWebClient, emulator: SlackEmulator) -> None:
    cid = emulator.add_channel("ops", members=[BOT])
    await client.chat_postMessage(channel=cid, text="hello")
    (call,) = emulator.calls_to("chat.postMessage")
    assert call.params == {"channel": cid, "text": "hello"}
    assert call.http_status == 200 and call.response["ok"] is True


async def test_form_bodies_with_json_strings_are_normalised(emulator: SlackEmulator) -> None:
    cid = emulator.add_channel("ops", members=[BOT])
    form = {"channel": cid, "text": "t", "blocks": '[{"type": "divider"}]', "token": emulator.bot_token}
    async with aiohttp.ClientSession() as http:
        async with http.post(emulator.base_url + "chat.postMessage", data=form) as resp:
            body = await resp.json()
        async with http.post(emulator.base_url + "auth.test", json={"token": emulator.bot_token}) as resp:
            json_token = await resp.json()
    assert body["ok"] and emulator.messages(cid)[0]["blocks"] == [{"type": "divider"}]
    assert emulator.calls_to("chat.postMessage")[0].params["blocks"] == [{"type": "divider"}]
    assert json_token == {"ok": False, "error": "not_authed"}  # Slack reads no token from JSON bodies


# conversations


async def test_create_makes_the_bot_creator_and_member(
    client: AsyncWebClient, emulator: SlackEmulator
) -> None:
    ch = (await client.conversations_create(name="inc-42_db", is_private=True))["channel"]
    assert ch["name"] == "inc-42_db" and ch["is_private"] and ch["is_member"]
    assert ch["creator"] == BOT and ch["id"].startswith("C")
    assert set(ch["topic"]) == {"value", "creator", "last_set"}
    assert emulator.channel("inc-42_db").members == [BOT]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "invalid_name_required"),
        ("x" * 81, "invalid_name_maxlength"),
        ("Incident", "invalid_name_specials"),
        ("inc 1", "invalid_name_specials"),
        ("inc#1", "invalid_name_specials"),
        ("--", "invalid_name_punctuation"),
    ],
)
async def test_create_validates_names(client: AsyncWebClient, name: str, error: str) -> None:
    assert await error_of(client.conversations_create(name=name)) == error


async def test_create_refuses_taken_names_even_archived(client: AsyncWebClient) -> None:
    cid = (await client.conversations_create(name="inc-1"))["channel"]["id"]
    assert await error_of(client.conversations_create(name="inc-1")) == "name_taken"
    await client.conversations_archive(channel=cid)
    assert await error_of(client.conversations_create(name="inc-1")) == "name_taken"
    assert (await client.conversations_create(name="x" * 80))["ok"]


async def test_archive_and_unarchive(client: AsyncWebClient) -> None:
    cid = (await client.conversations_create(name="inc-arch"))["channel"]["id"]
    assert await error_of(client.conversations_unarchive(channel=cid)) == "not_archived"
    await client.conversations_archive(channel=cid)
    assert await error_of(client.chat_postMessage(channel=cid, text="hi")) == "is_archived"
    assert await error_of(client.conversations_archive(channel=cid)) == "already_archived"
    await client.conversations_unarchive(channel=cid)
    assert (await client.chat_postMessage(channel=cid, text="back"))["ok"]


async def test_users_conversations_lists_what_a_person_is_in_that_the_bot_sees(
    client: AsyncWebClient, emulator: SlackEmulator
) -> None:
    alice = emulator.add_user("alice")
    shared = emulator.add_channel("shared-private", members=[alice, BOT], is_private=True)
    emulator.add_channel("hidden-private", members=[alice], is_private=True)
    emulator.add_channel("public", members=[alice])
    found = await client.users_conversations(user=alice, types="private_channel")
    assert [c["id"] for c in found["channels"]] == [shared]
    public = await client.users_conversations(user=alice)
    assert [c["name"] for c in public["channels"]] == ["public"]
    assert await error_of(client.users_conversations(user="U404")) == "user_not_found"


async def test_invite_errors(client: AsyncWebClient, emulator: SlackEmulator) -> None:
    alice, bob = emulator.add_user("alice"), emulator.add_user("bob")
    outside = emulator.add_channel("outside", members=[alice])
    assert await error_of(client.conversations_invite(channel=outside, users=bob)) == "not_in_channel"
    assert await error_of(client.conversations_invite(channel="C404", users=bob)) == "channel_not_found"
    cid = (await client.conversations_create(name="inc-2"))["channel"]["id"]
    assert await error_of(client.conversations_invite(channel=cid, users=BOT)) == "cant_invite_self"
    assert await error_of(client.conversations_invite(channel=cid, users="U404")) == "user_not_found"
    resp = await client.conversations_invite(channel=cid, users=[alice, bob])
    assert resp["channel"]["num_members"] == 3
    assert await error_of(client.conversations_invite(channel=cid, users=alice)) == "already_in_channel"
    carol = emulator.add_user("carol")
    assert (await client.conversations_invite(channel=cid, users=f"{alice},{carol}"))["ok"]
    assert emulator.channel(cid).members == [BOT, alice, bob, carol]  # type: ignore[union-attr]


async def test_join_info_members_and_private_visibility(
    client: AsyncWebClient, emulator: SlackEmulator
) -> None:
    alice = emulator.add_user("alice")
    public = emulator.add_channel("general", members=[alice])
    secret = emulator.add_channel("secret", members=[alice], is_private=True)
    assert (await client.conversations_info(channel=public))["channel"]["is_member"] is False
    assert await error_of(client.conversations_info(channel=secret)) == "channel_not_found"
    assert await error_of(client.conversations_join(channel=secret)) == "channel_not_found"
    await client.conversations_join(channel=public)
    again = await client.conversations_join(channel=public)
    assert again["warning"] == "already_in_channel"
    assert (await client.conversations_members(channel=public))["members"] == [alice, BOT]


async def test_list_paginates_and_filters(client: AsyncWebClient, emulator: SlackEmulator) -> None:
    for i in range(5):
        emulator.add_channel(f"c{i}")
    emulator.add_channel("mine-private", members=[BOT], is_private=True)
    emulator.add_channel("their-private", is_private=True)
    names, cursor = [], None
    while True:
        resp = await client.conversations_list(limit=2, cursor=cursor)
        assert len(resp["channels"]) <= 2
        names += [c["name"] for c in resp["channels"]]
        cursor = resp["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert names == ["c0", "c1", "c2", "c3", "c4"]
    both = await client.conversations_list(types="public_channel,private_channel", limit=100)
    assert "mine-private" in [c["name"] for c in both["channels"]]
    assert "their-private" not in [c["name"] for c in both["channels"]]
    await client.conversations_archive(channel=emulator.add_channel("old", members=[BOT]))
    live = await client.conversations_list(exclude_archived=True)
    assert "old" not in [c["name"] for c in live["channels"]]
    assert await error_of(client.conversations_list(cursor="garbage")) == "invalid_cursor"


async def test_topic_and_purpose(client: AsyncWebClient, emulator: SlackEmulator) -> None:
    cid = emulator.add_channel("ops", members=[BOT])
    resp = await client.conversations_setTopic(channel=cid, topic="SEV1: checkout down")
    assert resp["channel"]["topic"]["value"] == "SEV1: checkout down"
    assert resp["channel"]["topic"]["creator"] == BOT
    assert await error_of(client.conversations_setTopic(channel=cid, topic="x" * 251)) == "too_long"
    assert await error_of(client.conversations_setPurpose(channel=cid, purpose="y" * 251)) == "too_long"
    other = emulator.add_channel("other")
    assert await error_of(client.conversations_setTopic(channel=other, topic="t")) == "not_in_channel"
    assert emulator.log[-1].kind == "topic"


async def test_dm_ids_are_stable_per_user(client: AsyncWebClient, emulator: SlackEmulator) -> None:
    alice = emulator.add_user("alice", user_id="U0ALICE")
    first = (await client.conversations_open(users=alice))["channel"]["id"]
    again = await client.conversations_open(users=[alice])
    assert first.startswith("D") and again["channel"]["id"] == first and again["already_open"]
    await client.chat_postMessage(channel=alice, text="posting to a user id lands in the DM")
    await client.chat_postMessage(channel=first, text="and so does the D id")
    assert [m["text"] for m in emulator.dms(alice)][1] == "and so does the D id"
    assert emulator.log[-1].kind == "dm"
    assert await error_of(client.conversations_open(users="U404")) == "user_not_found"


# messages


async def test_post_by_id_or_name_and_its_errors(client: AsyncWebClient, emulator: SlackEmulator) -> None:
    cid = emulator.add_channel("ops", members=[BOT])
    emulator.add_channel("elsewhere")
    for target in (cid, "#ops", "ops"):
        assert (await client.chat_postMessage(channel=target, text="hi"))["channel"] == cid
    assert await error_of(client.chat_postMessage(channel="#nope", text="x")) == "channel_not_found"
    assert await error_of(client.chat_postMessage(channel="#elsewhere", text="x")) == "not_in_channel"
    with pytest.warns(UserWarning, match="text"):  # slack_sdk warns too; Slack answers no_text
        assert await error_of(client.chat_postMessage(channel=cid, text="")) == "no_text"
    assert await error_of(client.chat_postMessage(channel=cid, text="x" * 40_001)) == "msg_too_long"
    await client.conversations_archive(channel=cid)
    assert await error_of(client.chat_postMessage(channel=cid, text="x")) == "is_archived"
    assert len(emulator.messages(cid)) == 3


LONG = "x" * 3001


@pytest.mark.parametrize(
    "blocks",
    [
        [{"type": "divider"}] * 51,
        [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
        [{"type": "header", "text": {"type": "mrkdwn", "text": "*h*"}}],
        [section(LONG)],
        [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
        [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}],
        [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}],
        [{"type": "actions", "elements": [button(str(i), f"a{i}") for i in range(26)]}],
        [{"type": "actions", "elements": [button("b" * 76)]}],
        [section("a", block_id="same"), section("b", block_id="same")],
        [{"type": "carousel"}],
    ],
    ids=[
        "51-blocks",
        "long-header",
        "mrkdwn-header",
        "long-section",
        "11-fields",
        "long-field",
        "11-context",
        "26-actions",
        "long-button",
        "duplicate-block-id",
        "unknown-type",
    ],
)
async def test_invalid_blocks_are_refused(
    client: AsyncWebClient, emulator: SlackEmulator, blocks: list
) -> None:
    cid = emulator.add_channel("ops", members=[BOT])
    assert await error_of(client.chat_postMessage(channel=cid, text="t", blocks=blocks)) == "invalid_blocks"
    assert emulator.messages(cid) == []


async def test_blocks_at_the_limits_are_accepted(client: AsyncWebClient, emulator: SlackEmulator) -> None:
    cid = emulator.add_channel("ops", members=[BOT])
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
        section("s" * 3000, fields=[{"type": "mrkdwn", "text": "f" * 2000}] * 10),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 10},
        {"type": "actions", "elements": [button("b" * 75, f"a{i}") for i in range(25)]},
    ] + [{"type": "divider"}] * 46
    assert (await client.chat_postMessage(channel=cid, text="t", blocks=blocks))["ok"]


async def test_update_permalink_and_ephemeral(client: AsyncWebClient, emulator: SlackEmulator) -> None:
    alice, bob = emulator.add_user("alice"), emulator.add_user("bob")
    cid = emulator.add_channel("ops", members=[BOT, alice])
    ts = (await client.chat_postMessage(channel=cid, text="v1", blocks=[section("v1")]))["ts"]
    resp = await client.chat_update(channel=cid, ts=ts, text="v2")
    assert resp["message"]["text"] == "v2" and resp["message"]["blocks"] == [section("v1")]  # blocks kept
    assert await error_of(client.chat_update(channel=cid, ts="1.000001", text="x")) == "message_not_found"
    users_msg = emulator.state.add_message(emulator.channel(cid), alice, "mine")  # type: ignore[arg-type]
    assert await error_of(client.chat_update(channel=cid, ts=users_msg.ts, text="x")) == "cant_update_message"
    link = (await client.chat_getPermalink(channel=cid, message_ts=ts))["permalink"]
    assert link == f"https://emulated.slack.test/archives/{cid}/p{ts.replace('.', '')}"
    eph = await client.chat_postEphemeral(channel=cid, user=alice, text="only you")
    assert [e["text"] for e in emulator.ephemerals(alice)] == ["only you"] and eph["message_ts"]
    assert all(m["text"] != "only you" for m in emulator.messages(cid))
    assert await error_of(client.chat_postEphemeral(channel=cid, user=bob, text="x")) == "user_not_in_channel"


async def test_history_and_replies() -> None:
    clock = [1_700_000_000.0]
    emu = SlackEmulator(now=lambda: clock[0])
    await emu.start()
    try:
        client = AsyncWebClient(base_url=emu.base_url, token=emu.bot_token)
        cid = emu.add_channel("ops", members=[BOT])
        ts = []
        for i in range(4):
            ts.append((await client.chat_postMessage(channel=cid, text=f"m{i}"))["ts"])
            clock[0] += 10
        assert ts[0] == "1700000000.000000" and ts[3] == "1700000030.000000"
        r1 = (await client.chat_postMessage(channel=cid, text="r1", thread_ts=ts[1]))["ts"]
        r2 = (await client.chat_postMessage(channel=cid, text="r2", thread_ts=r1))["ts"]  # reply to a reply
        await client.chat_postMessage(channel=cid, text="r3", thread_ts=ts[1], reply_broadcast=True)

        history = await client.conversations_history(channel=cid)
        assert [m["text"] for m in history["messages"]] == ["r3", "m3", "m2", "m1", "m0"]
        window = await client.conversations_history(channel=cid, oldest=ts[1], latest=ts[3])
        assert [m["text"] for m in window["messages"]] == ["m2"]
        inclusive = await client.conversations_history(
            channel=cid, oldest=ts[1], latest=ts[3], inclusive=True
        )
        assert [m["text"] for m in inclusive["messages"]] == ["m3", "m2", "m1"]
        page = await client.conversations_history(channel=cid, limit=2)
        assert page["has_more"] and len(page["messages"]) == 2
        rest = await client.conversations_history(
            channel=cid, limit=2, cursor=page["response_metadata"]["next_cursor"]
        )
        assert [m["text"] for m in rest["messages"]] == ["m2", "m1"]

        thread = (await client.conversations_replies(channel=cid, ts=ts[1]))["messages"]
        assert [m["text"] for m in thread] == ["m1", "r1", "r2", "r3"]
        assert thread[0]["reply_count"] == 3 and thread[0]["latest_reply"] == thread[-1]["ts"]
        assert thread[2]["ts"] == r2 and thread[2]["thread_ts"] == ts[1]
        assert await error_of(client.conversations_replies(channel=cid, ts="1.000009")) == "thread_not_found"
        assert (
            await error_of(client.chat_postMessage(channel=cid, text="x", thread_ts="1.2"))
            == "thread_not_found"
        )
        assert await error_of(client.conversations_history(channel=cid, latest="soon")) == "invalid_ts_latest"
        assert [m["text"] for m in emu.messages(cid)] == ["m0", "m1", "m2", "m3", "r1", "r2", "r3"]
    finally:
        await emu.stop()
    assert_emulator_ok(emu)


async def test_ts_strictly_increase_under_a_frozen_clock() -> None:
    emu = SlackEmulator(now=lambda: 1_700_000_000.5)
    stamps = [emu.state.next_ts() for _ in range(3)]
    assert stamps == ["1700000000.500000", "1700000000.500001", "1700000000.500002"]


async def test_pins_and_reactions(client: AsyncWebClient, emulator: SlackEmulator) -> None:
    cid = emulator.add_channel("ops", members=[BOT])
    ts = (await client.chat_postMessage(channel=cid, text="summary"))["ts"]
    await client.pins_add(channel=cid, timestamp=ts)
    assert await error_of(client.pins_add(channel=cid, timestamp=ts)) == "already_pinned"
    assert await error_of(client.pins_add(channel=cid, timestamp="1.000001")) == "message_not_found"
    assert await error_of(client.pins_add(channel=cid)) == "no_item_specified"
    assert [i["message"]["ts"] for i in (await client.pins_list(channel=cid))["items"]] == [ts]
    assert [m["ts"] for m in emulator.pins(cid)] == [ts] and emulator.pins(cid)[0]["pinned_to"] == [cid]
    await client.pins_remove(channel=cid, timestamp=ts)
    assert await error_of(client.pins_remove(channel=cid, timestamp=ts)) == "not_pinned"

    await client.reactions_add(channel=cid, timestamp=ts, name="white_check_mark")
    assert await error_of(client.reactions_add(channel=cid, timestamp=ts, name="white_check_mark")) == (
        "already_reacted"
    )
    assert await error_of(client.reactions_add(channel=cid, timestamp=ts, name=":eyes:")) == "invalid_name"
    msg = (await client.conversations_history(channel=cid))["messages"][0]
    assert msg["reactions"] == [{"name": "white_check_mark", "users": [BOT], "count": 1}]
    await client.reactions_remove(channel=cid, timestamp=ts, name="white_check_mark")
    assert await error_of(client.reactions_remove(channel=cid, timestamp=ts, name="white_check_mark")) == (
        "no_reaction"
    )


async def test_users_and_usergroups(client: AsyncWebClient, emulator: SlackEmulator) -> None:
    alice = emulator.add_user("alice", real_name="Alice Ops")
    assert alice.startswith("U") and alice[1:].isalnum() and alice.isupper()
    user = (await client.users_info(user=alice))["user"]
    assert (user["name"], user["real_name"], user["is_bot"]) == ("alice", "Alice Ops", False)
    assert await error_of(client.users_info(user="U404")) == "user_not_found"
    group = emulator.add_usergroup("oncall", [alice])
    assert (await client.usergroups_users_list(usergroup=group))["users"] == [alice]
    assert await error_of(client.usergroups_users_list(usergroup="S404")) == "no_such_subteam"


# fault injection


async def test_429_is_retried_after_retry_after_and_posts_once(emulator: SlackEmulator) -> None:
    cid = emulator.add_channel("ops", members=[BOT])
    client = AsyncWebClient(
        base_url=emulator.base_url,
        token=emulator.bot_token,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    emulator.inject("chat.postMessage", status=429, retry_after=1)
    started = time.monotonic()
    resp = await client.chat_postMessage(channel=cid, text="once")
    assert resp["ok"] and time.monotonic() - started >= 1.0
    assert [c.http_status for c in emulator.calls_to("chat.postMessage")] == [429, 200]
    assert emulator.calls_to("chat.postMessage")[0].response == {"ok": False, "error": "ratelimited"}
    assert [m["text"] for m in emulator.messages(cid)] == ["once"]


async def test_429_carries_retry_after(emulator: SlackEmulator) -> None:
    emulator.inject("auth.test", status=429, retry_after=7)
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {emulator.bot_token}"}
        async with http.post(emulator.base_url + "auth.test", headers=headers) as resp:
            assert resp.status == 429 and resp.headers["Retry-After"] == "7"


async def test_5xx_is_retried_by_the_server_error_handler_and_posts_once(emulator: SlackEmulator) -> None:
    cid = emulator.add_channel("ops", members=[BOT])
    client = AsyncWebClient(
        base_url=emulator.base_url,
        token=emulator.bot_token,
        retry_handlers=[
            AsyncServerErrorRetryHandler(
                max_retry_count=2, interval_calculator=FixedValueRetryIntervalCalculator(0.01)
            )
        ],
    )
    emulator.inject("chat.postMessage", status=503, times=2)
    assert (await client.chat_postMessage(channel=cid, text="once"))["ok"]
    assert [c.http_status for c in emulator.calls_to("chat.postMessage")] == [503, 503, 200]
    assert [m["text"] for m in emulator.messages(cid)] == ["once"]


async def test_server_errors_and_error_answers_change_nothing(
    client: AsyncWebClient, emulator: SlackEmulator
) -> None:
    cid = emulator.add_channel("ops", members=[BOT])
    emulator.inject("chat.postMessage", status=500, times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as info:
            await client.chat_postMessage(channel=cid, text="lost")
        assert info.value.response.status_code == 500
    emulator.inject("conversations.create", error="restricted_action")
    assert await error_of(client.conversations_create(name="inc-9")) == "restricted_action"
    assert emulator.messages(cid) == [] and emulator.channel("inc-9") is None
    assert (await client.chat_postMessage(channel=cid, text="kept"))["ok"]
    assert [c.http_status for c in emulator.calls_to("chat.postMessage")] == [500, 500, 200]
    with pytest.raises(ValueError):
        emulator.inject("auth.test")


# files and views


async def test_file_upload_flow(client: AsyncWebClient, emulator: SlackEmulator) -> None:
    cid = emulator.add_channel("ops", members=[BOT])
    resp = await client.files_upload_v2(
        content="postmortem body",
        filename="pm.md",
        title="Postmortem",
        channel=cid,
        initial_comment="Draft attached",
    )
    file_id = resp["files"][0]["id"]
    assert emulator.file_content(file_id) == b"postmortem body"
    (msg,) = emulator.messages(cid)
    assert msg["text"] == "Draft attached" and msg["files"][0]["title"] == "Postmortem" and msg["upload"]
    assert emulator.log[-1].kind == "file"
    bare = await client.files_getUploadURLExternal(filename="x.txt", length=3)
    assert bare["upload_url"].startswith(emulator.url + "upload/")
    files = [{"id": bare["file_id"]}]
    assert (
        await error_of(client.files_completeUploadExternal(files=files, channel_id=cid)) == "file_not_found"
    )
    assert await error_of(client.files_completeUploadExternal(files=[{"id": "F404"}])) == "file_not_found"


async def test_views_need_fresh_unused_triggers(client: AsyncWebClient, emulator: SlackEmulator) -> None:
    alice = emulator.add_user("alice")
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Declare"}, "blocks": [section("hi")]}
    assert await error_of(client.views_open(trigger_id="nope", view=modal)) == "invalid_trigger_id"
    trigger = emulator.state.issue_trigger(alice)
    long_title = {**modal, "title": {"type": "plain_text", "text": "t" * 25}}
    assert await error_of(client.views_open(trigger_id=trigger, view=long_title)) == "invalid_arguments"
    view = (await client.views_open(trigger_id=trigger, view=modal))["view"]
    assert view["id"].startswith("V") and view["hash"] and emulator.open_views(alice)[0]["id"] == view["id"]
    assert await error_of(client.views_open(trigger_id=trigger, view=modal)) == "exchanged_trigger_id"
    updated = await client.views_update(view_id=view["id"], view=modal, hash=view["hash"])
    assert (
        await error_of(client.views_update(view_id=view["id"], view=modal, hash=view["hash"]))
        == "hash_conflict"
    )
    pushed = await client.views_push(trigger_id=emulator.state.issue_trigger(alice), view=modal)
    assert pushed["view"]["root_view_id"] == view["id"] and updated["view"]["hash"] != view["hash"]
    emulator.trigger_ttl = 0.05
    stale = emulator.state.issue_trigger(alice)
    await asyncio.sleep(0.1)
    assert await error_of(client.views_open(trigger_id=stale, view=modal)) == "expired_trigger_id"


# response_url, the activity log, waiting


async def test_response_urls_reply_replace_delete_and_expire(
    client: AsyncWebClient, emulator: SlackEmulator
) -> None:
    alice = emulator.add_user("alice")
    cid = emulator.add_channel("ops", members=[BOT, alice])
    ts = (await client.chat_postMessage(channel=cid, text="original"))["ts"]
    url = emulator.state.response_url(alice, cid, message_ts=ts)
    async with aiohttp.ClientSession() as http:

        async def post(body: dict[str, Any]) -> int:
            async with http.post(url, json=body) as resp:
                return resp.status

        assert await post({"text": "just for you"}) == 200
        assert await post({"text": "for everyone", "response_type": "in_channel"}) == 200
        assert await post({"text": "edited", "replace_original": True}) == 200
        assert [e["source"] for e in emulator.ephemerals(alice)] == ["response_url"]
        assert [m["text"] for m in emulator.messages(cid)] == ["edited", "for everyone"]
        assert await post({"delete_original": True}) == 200
        assert [m["text"] for m in emulator.messages(cid)] == ["for everyone"]
        assert await post({"text": "fifth use"}) == 200
        assert await post({"text": "sixth use"}) == 404
    assert [r["response_type"] for r in emulator.responses][:2] == ["ephemeral", "in_channel"]


async def test_activity_log_reads_like_a_transcript(client: AsyncWebClient, emulator: SlackEmulator) -> None:
    alice = emulator.add_user("alice")
    cid = (await client.conversations_create(name="inc-7"))["channel"]["id"]
    await client.conversations_invite(channel=cid, users=alice)
    ts = (await client.chat_postMessage(channel=cid, text="Lead: <@" + alice + ">"))["ts"]
    await client.chat_postMessage(channel=cid, text="ack", thread_ts=ts)
    await client.pins_add(channel=cid, timestamp=ts)
    assert [e.kind for e in emulator.log] == ["channel_created", "invite", "message", "message", "pin"]
    assert emulator.log[2].lines == ["Lead: @alice"] and emulator.log[2].author == "incident-bot"
    assert emulator.log[3].format() == f"[message] #inc-7 (in thread {ts}) incident-bot:\n    ack"
    assert "[invite] #inc-7 incident-bot:\n    invited @alice" in emulator.transcript()


async def test_wait_for_polls_until_true(emulator: SlackEmulator) -> None:
    assert await emulator.wait_for(lambda: emulator.url, timeout=0.1) == emulator.url
    with pytest.raises(TimeoutError):
        await emulator.wait_for(lambda: emulator.calls_to("chat.postMessage"), timeout=0.05)
