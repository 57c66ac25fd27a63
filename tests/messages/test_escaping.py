"""Text from people and alerts is never markup: the same hostile strings through every path showing text."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import pytest

from tests.harness import Harness
from tests.receivers import Receiver

HOSTILE = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S0X|@oncall>",
    "<@U0VICTIM>",
    "<https://evil.example|click me>",
    "```",
    "&lt;!here&gt;",
    "*bold* _x_",
)
TEXT = " ".join(HOSTILE)
# A display name Slack would send as user_name (it never contains a real mention, but may look like one).
NAME = "<!here> <@U0VICTIM> <https://evil.example|click me> ```"
LIVE = ("<!channel", "<!here", "<!everyone", "<!subteam^", "<@U0VICTIM", "<https://evil.example")
TOKEN = "am-secret-token"


def typed(text: str) -> str:
    """What Slack sends in a slash command for text typed as is (the bot gets `text` back after parsing)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@pytest.fixture
async def statuspage() -> AsyncIterator[Receiver]:
    r = await Receiver(answer={"id": "sp-inc-1", "shortlink": "https://stspg.io/abc"}).start()
    yield r
    await r.stop()


@pytest.fixture
def policy_data(statuspage: Receiver, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("STATUSPAGE_API_KEY", "sp-api-key")
    return {
        "escalation": {"levels": [{"name": "L1", "title": "On-call", "users": ["U0ONCALL"], "after": "0s"}]},
        "statuspage": {"page_id": "page123", "api_url": statuspage.url + "/v1", "components": {"api": "c1"}},
    }


def _strings(value: Any, where: str) -> Iterator[tuple[str, str]]:
    """Every string inside a call's params, blocks and JSON-encoded values included, with its path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{where}[{i}]")
    elif isinstance(value, str):
        if value[:1] in "[{":
            try:
                yield from _strings(json.loads(value), where)
                return
            except ValueError:
                pass
        yield where, value


def _shown(h: Harness) -> list[tuple[str, str]]:
    """Every string the bot sent to Slack: Web API params, response_url answers, uploaded files."""
    out = [s for i, c in enumerate(h.emu.calls) for s in _strings(c.params, f"{i}:{c.method}")]
    out += [s for i, r in enumerate(h.emu.responses) for s in _strings(r, f"response[{i}]")]
    for call in h.emu.calls_to("files.completeUploadExternal"):
        for f in call.response.get("files", []):
            out.append((f"file {f['id']}", h.emu.file_content(f["id"]).decode()))
    return out


def _assert_inert(h: Harness) -> None:
    # A plain `@here` notifies nobody only as long as the bot never asks Slack to link names.
    assert not [c for c in h.emu.calls if c.params.get("link_names") or c.params.get("parse") == "full"]
    shown = _shown(h)
    assert len(shown) > 100
    bad = [
        f"{where}: {text[:200]!r}"
        for where, text in shown
        if any(live in text for live in LIVE)
        or (text.startswith("```") and not (text.endswith("```") and text.count("```") == 2))
    ]
    assert not bad, "live markup or a broken code block reached Slack:\n" + "\n".join(bad)


def _rendered(h: Harness, channel: str) -> str:
    """The channel as a person reads it."""
    return "\n".join(
        line
        for m in h.emu.messages(channel)
        for line in h.emu.state.render(m.get("text", ""), m.get("blocks"))
    )


async def test_text_from_people_never_notifies_links_or_breaks_code_blocks(
    harness: Harness, statuspage: Receiver
) -> None:
    h = harness
    evil = h.emu.add_user(NAME, user_id="U0EVIL")
    h.emu.add_user("oncall", user_id="U0ONCALL")
    channel = await h.declare(f"sev2 {typed(TEXT)}")
    await h.tick()  # the L1 page DM carries the title

    # The declare form: title and impact as typed.
    await h.command(h.alice, h.general, "declare")
    [view] = h.emu.open_views(h.alice)
    await h.driver.submit_view(
        h.alice,
        view["id"],
        {
            "title": {"title_input": TEXT},
            "severity": {"severity_select": "sev3"},
            "impact": {"impact_input": TEXT},
        },
    )
    await h.idle()

    await h.command(h.alice, channel, "scribe <@U0EVIL>")  # the DM and the post name a hostile display name
    await h.command(evil, channel, f"note {typed(TEXT)}")
    await h.command(evil, channel, f"update identified {typed(TEXT)}")
    # Work given up after an hour of retries is said in the channel, quoting the command.
    h.emu.inject("conversations.setTopic", status=503, seconds=2 * 3600)
    await h.command(evil, channel, f"update mitigating {typed(TEXT)}")
    for _ in range(40):
        await h.advance(minutes=2)
    assert [m for m in h.emu.messages(channel) if "could not carry out" in m.get("text", "")]
    await h.advance(minutes=45)
    await h.driver.say(evil, channel, TEXT)  # a scribe message, with real broadcasts in it
    pinned = await h.driver.say(h.bob, channel, f"{TEXT} {typed(TEXT)}")
    await h.driver.react(h.alice, channel, pinned, "pushpin")
    await h.idle()
    await h.command(h.alice, channel, f"statuspage investigating {typed(TEXT)}")
    assert TEXT in statuspage.requests[-1].json["incident"]["body"], "the public text is the person's own"
    await h.command(evil, channel, "status")
    await h.command(evil, h.general, "list")
    await h.command(evil, channel, "timeline")
    await h.command(evil, channel, "timeline share")
    await h.command(h.alice, channel, f"resolve {typed(TEXT)}")
    await h.command(h.alice, channel, "postmortem")
    h.emu.inject("files.getUploadURLExternal", error="not_allowed_token_type")
    await h.command(h.alice, channel, "postmortem")

    assert h.emu.calls_to("files.completeUploadExternal"), "the postmortem file was uploaded"
    fallback = [c for c in h.emu.calls_to("chat.postMessage") if "```" in json.dumps(c.params.get("blocks"))]
    assert fallback, "the postmortem was posted as a code block too"
    _assert_inert(h)
    # Inert, and still readable as written.
    shown = _rendered(h, channel)
    for readable in ("@channel", "@here", "@oncall", "@U0VICTIM", "click me (https://evil.example)"):
        assert readable in shown, readable
    assert "&lt;!here&gt;" in shown, "text typed as `&lt;!here&gt;` reads as typed"


async def test_alert_text_never_notifies_links_or_breaks_code_blocks(harness: Harness) -> None:
    h = harness
    h.token = TOKEN
    await h.restart()
    oncall = h.emu.add_user("oncall", user_id="U0ONCALL")

    def alert(instance: str) -> dict[str, Any]:
        return {
            "status": "firing",
            "labels": {"alertname": "HighErrorRate", "instance": instance, "team": TEXT},
            "annotations": {"summary": TEXT, "description": TEXT},
            "generatorURL": "http://prometheus.example:9090/graph",
            "fingerprint": f"fp-{instance}",
        }

    async def notify(*alerts: dict[str, Any]) -> None:
        body = {
            "version": "4",
            "groupKey": "g1",
            "status": "firing",
            "alerts": list(alerts),
            "commonLabels": {"alertname": "HighErrorRate"},
            "commonAnnotations": {"summary": TEXT},
        }
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession() as session, session.post(
            h.url + "/webhooks/alertmanager", json=body, headers=headers
        ) as resp:  # fmt: skip
            assert resp.status == 200, await resp.text()
        await h.idle()

    await notify(alert("api-1"))
    [created] = [c for c in h.emu.calls_to("conversations.create") if c.response["ok"]]
    channel = created.response["channel"]["id"]
    await h.tick()  # the L1 page DM
    await h.command(oncall, channel, f"commander <@{oncall}>")  # topic and role DM carry the title
    await h.command(oncall, channel, "update mitigating Scaled out")  # the context block carries the title
    await notify(alert("api-1"), alert("api-2"))  # the alert list of the change
    await h.command(oncall, channel, "status")
    await h.command(oncall, channel, "timeline share")
    await h.command(oncall, channel, "resolve Scaled out")
    h.emu.inject("files.getUploadURLExternal", error="not_allowed_token_type")
    await h.command(oncall, channel, "postmortem")

    assert h.emu.calls_to("conversations.setTopic") and h.emu.dms(oncall)
    _assert_inert(h)
    shown = _rendered(h, channel)
    assert "<http://prometheus.example:9090/graph|source>" in json.dumps(h.emu.messages(channel))
    for readable in ("@channel", "@oncall", "click me (https://evil.example)", "&lt;!here&gt;"):
        assert readable in shown, readable
