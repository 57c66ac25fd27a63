"""render.py: Block Kit and mrkdwn as a person reads them."""

from __future__ import annotations

from slack_emulator.blockkit import block_problems
from slack_emulator.render import DIVIDER, Button, buttons, checkboxes, mrkdwn_to_text, render_blocks

NAMES = {"U1": "alice", "C1": "incidents"}


def resolve(key: str) -> str | None:
    return NAMES.get(key)


def test_mentions_links_and_escapes_become_readable() -> None:
    text = (
        "<@U1> and <@U9|bob> see <#C1> / <#C2|ops>: <https://x.test/a?b=1&amp;c=2|runbook> &lt;3 &amp;&amp;"
    )
    assert mrkdwn_to_text(text, resolve, resolve) == (
        "@alice and @bob see #incidents / #ops: runbook (https://x.test/a?b=1&c=2) <3 &&"
    )


def test_without_resolvers_ids_or_labels_are_kept() -> None:
    assert mrkdwn_to_text("<@U1> <#C1|general> <https://x.test>") == "@U1 #general https://x.test"
    assert mrkdwn_to_text("<!here> <!subteam^S1|@oncall> <!date^1^{date}|Nov 22>") == "@here @oncall Nov 22"
    assert mrkdwn_to_text("&amp;lt;") == "&lt;"


def test_blocks_render_in_reading_order() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "SEV1 · Checkout down"}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*Lead:* <@U1>\nStatus: open"},
            "fields": [
                {"type": "mrkdwn", "text": "*Sev* 1"},
                {"type": "plain_text", "text": "<@U1> literally"},
            ],
        },
        {"type": "divider"},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "in <#C1>"}, {"type": "plain_text", "text": "2m"}],
        },
        {
            "type": "actions",
            "block_id": "b1",
            "elements": [
                {
                    "type": "button",
                    "action_id": "ack",
                    "text": {"type": "plain_text", "text": "Ack"},
                    "value": "7",
                },
                {"type": "button", "action_id": "resolve", "text": {"type": "plain_text", "text": "Resolve"}},
            ],
        },
    ]
    assert render_blocks(blocks, "fallback", resolve_user=resolve, resolve_channel=resolve) == [
        "SEV1 · Checkout down",
        "*Lead:* @alice",
        "Status: open",
        "*Sev* 1",
        "<@U1> literally",
        DIVIDER,
        "in #incidents  2m",
        "[Ack] [Resolve]",
    ]
    assert render_blocks(blocks[-1:], show_action_ids=True) == ["[Ack](ack) [Resolve](resolve)"]
    assert buttons(blocks) == [Button("Ack", "ack", "b1", value="7"), Button("Resolve", "resolve", "b1")]


def test_text_is_used_when_there_are_no_blocks() -> None:
    assert render_blocks(None, "line one\n<@U1> line two", resolve_user=resolve) == [
        "line one",
        "@alice line two",
    ]
    assert render_blocks([], "") == []


def test_other_blocks_are_still_shown() -> None:
    blocks = [
        {"type": "image", "image_url": "https://x.test/i.png", "alt_text": "graph"},
        {
            "type": "input",
            "label": {"type": "plain_text", "text": "Title"},
            "element": {
                "type": "plain_text_input",
                "placeholder": {"type": "plain_text", "text": "What broke?"},
            },
        },
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "Pick"},
            "accessory": {"type": "static_select", "placeholder": {"type": "plain_text", "text": "Severity"}},
        },
        {
            "type": "rich_text",
            "elements": [
                {
                    "type": "rich_text_section",
                    "elements": [
                        {"type": "text", "text": "hi "},
                        {"type": "user", "user_id": "U1"},
                        {"type": "emoji", "name": "fire"},
                    ],
                }
            ],
        },
        {"type": "video"},
    ]
    assert render_blocks(blocks, resolve_user=resolve) == [
        "[image: graph]",
        "Title: [What broke?]",
        "Pick",
        "[Severity ▾]",
        "hi @alice:fire:",
        "[video]",
    ]


def test_checkboxes_show_which_are_ticked_and_slacks_limits_hold() -> None:
    option = {"text": {"type": "plain_text", "text": "Checked"}, "value": "0.0"}
    box = {"type": "checkboxes", "action_id": "a", "options": [option], "initial_options": [option]}
    text = {"type": "mrkdwn", "text": "*Step*"}
    block = {"type": "section", "block_id": "b", "text": text, "accessory": box}
    assert render_blocks([block]) == ["*Step*", "[x] Checked"]
    [found] = checkboxes([block])
    assert (found.action_id, found.block_id, found.ticked) == ("a", "b", (option,))
    assert block_problems([block]) == []
    long = {**option, "text": {"type": "plain_text", "text": "x" * 76}}
    stray = {**option, "value": "other"}
    bad = {**block, "accessory": {**box, "options": [long], "initial_options": [stray]}}
    assert [p.split(" [")[1] for p in block_problems([bad])] == [
        "json-pointer:/blocks/0/accessory/options/0/text/text]",
        "json-pointer:/blocks/0/accessory/initial_options/0]",
    ]
