"""The channel messages in a team's own words: `[templates] dir` files over the defaults (per severity and
per service), what Slack receives, hostile titles and field values kept inert, a private incident's
announcement redacted whatever the template says, and a template failing on real data falling back."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from storage.fields import FieldRepo
from storage.models import Incident
from tests.harness import Harness

CACHE_RUNBOOK = Path(__file__).parent / "runbooks" / "cache.md"
LIVE = ("<!channel", "<!here", "<!everyone", "<https://evil", "<@U0BOB")


def _write(folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)


async def _words(h: Harness, folder: Path, files: dict[str, str], **policy: Any) -> None:
    """Restart the bot with these files in its `[templates] dir`."""
    _write(folder, files)
    h.policy = h.policy_for(templates={"dir": str(folder)}, **policy)
    await h.restart()


def _blocks(call: Any) -> list[dict[str, Any]]:
    blocks = call.params.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else blocks


def _layout(call: Any) -> list[str]:
    return [b["type"] for b in _blocks(call)]


def _sections(call: Any) -> list[str]:
    return [b["text"]["text"] for b in _blocks(call) if b["type"] == "section" and "text" in b]


def _posts(h: Harness, channel: str, method: str = "chat.postMessage") -> list[Any]:
    return [c for c in h.emu.calls_to(method) if c.params.get("channel") == channel and c.response.get("ok")]


def _shown(h: Harness, *channels: str) -> str:
    """Everything the bot posted or edited in these channels: fallback text and blocks."""
    calls = [c for m in ("chat.postMessage", "chat.update") for ch in channels for c in _posts(h, ch, m)]
    return "\n".join(str(c.params.get("text", "")) + json.dumps(_blocks(c)) for c in calls)


async def _set(h: Harness, channel: str, **values: Any) -> None:
    """Field values as `/incident set` stores them."""
    async with h.bot.shared.db.session() as s:
        incident_id = await s.scalar(select(Incident.id).where(Incident.channel_id == channel))
        assert incident_id is not None
        for name, value in values.items():
            await FieldRepo(s).set(incident_id, name, value, h.alice, h.clock.now())


OWN = {
    "initial.j2": "Hello {{ incident.number }}, led by {{ incident.commander }}\n---\n"
    "Impact: {{ incident.impact or 'unknown' }}",
    "update.j2": "{{ update.previous_status }} to {{ update.status }}: {{ update.text }}"
    " ({{ update.author }})",
    "resolution.j2": "Over after {{ incident.duration }}: {{ summary }}\n---\n"
    "{% for item in follow_ups %}{{ loop.index }}. {{ item }}\n{% endfor %}",
    "announce.j2": "{{ incident.number }} is {{ incident.status }}: {{ incident.title }}"
    " in {{ incident.channel }}",
}


async def test_each_channel_message_is_the_teams_template_inside_the_bots_blocks(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    await _words(h, tmp_path / "words", OWN)
    channel = await h.declare("sev2 Search is slow")
    [initial] = _posts(h, channel)
    assert _layout(initial) == ["header", "section", "section", "divider", "context"]
    assert _sections(initial) == [f"Hello INC-1, led by <@{h.alice}>", "Impact: unknown"]
    assert _blocks(initial)[0]["text"]["text"] == "SEV2 · INC-1: Search is slow"
    [announced] = _posts(h, h.announce)
    assert _sections(announced) == [f"INC-1 is Investigating: Search is slow in <#{channel}>"]
    assert _layout(announced) == ["section", "context"]

    h.clock.advance(timedelta(minutes=20))
    await h.command(h.alice, channel, "update identified Bad index on the search cluster")
    update = _posts(h, channel)[-1]
    assert _layout(update) == ["header", "section", "context"]
    assert _sections(update) == [
        f"Investigating to Identified: Bad index on the search cluster (<@{h.alice}>)"
    ]
    edited = _posts(h, h.announce, "chat.update")[-1]
    assert _sections(edited) == [f"INC-1 is Identified: Search is slow in <#{channel}>"]

    h.clock.advance(timedelta(minutes=25))
    await h.command(h.alice, channel, "resolve Rebuilt the index")
    resolution = _posts(h, channel)[-1]
    assert _layout(resolution) == ["header", "section", "section", "context"]
    over, todo = _sections(resolution)
    assert over == "Over after 45m: Rebuilt the index"
    assert todo.startswith("1. *Postmortem due 2026-11-29 03:45 UTC* (within 7d), owner <@U0ALICE>\n2. ")
    assert _sections(_posts(h, h.announce, "chat.update")[-1])[0].startswith("INC-1 is Resolved:")


async def test_the_defaults_keep_todays_wording(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev2 Search is slow")
    [initial] = _posts(h, channel)
    assert _layout(initial) == ["header", "section", "section", "divider", "context"]
    facts, impact = _sections(initial)
    assert facts.splitlines() == [
        "*Severity:* :large_orange_circle: SEV2 (Major) · *Status:* :mag: Investigating",
        f"*Incident commander:* <@{h.alice}>",
        "*Detected:* 2026-11-22 03:00 UTC",
        "*Next update:* by 03:30 UTC",
        f"*Declared by:* <@{h.alice}>",
    ]
    assert impact == "*Impact*\n_Not assessed yet: who is affected, and how?_"
    [announced] = _posts(h, h.announce)
    assert _sections(announced) == [
        ":large_orange_circle: *SEV2 incident declared:* Search is slow\n:mag: Investigating\n"
        f"Join <#{channel}> · Commander <@{h.alice}> · INC-1"
    ]


async def test_the_most_specific_variant_renders_by_severity_and_service(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    files = {
        "initial.j2": "plain {{ incident.severity }}",
        "initial.sev1.j2": "for every SEV1",
        "initial.service-cache.j2": "for the cache service, {{ incident.severity }}",
        "initial.service-cache.sev1.j2": "for the cache service at SEV1",
    }
    await _words(h, tmp_path / "words", files, services=[{"name": "cache", "runbook": str(CACHE_RUNBOOK)}])
    said = {}
    for text in ("sev1 A", "sev3 B", "--service cache sev2 C", "--service cache sev1 D"):
        channel = await h.declare(text)
        said[text] = _sections(_posts(h, channel)[0])
    assert said == {
        "sev1 A": ["for every SEV1"],
        "sev3 B": ["plain SEV3"],
        "--service cache sev2 C": ["for the cache service, SEV2"],
        "--service cache sev1 D": ["for the cache service at SEV1"],
    }


async def test_a_workspaces_own_dir_is_its_own(harness: Harness, tmp_path: Path) -> None:
    h = harness
    folder = tmp_path / "acme"
    _write(folder, {"initial.j2": "Acme's words for {{ incident.number }}"})
    h.policy = h.policy_for(workspaces={"T0EMU": {"templates": {"dir": str(folder)}}})
    await h.restart()
    channel = await h.declare("sev2 Search is slow")
    assert _sections(_posts(h, channel)[0]) == ["Acme's words for INC-1"]


HOSTILE_TITLE = "<!channel> ping <https://evil.example/x|click> <@U0BOB> & co"
FIELDS = [
    {"name": "customer", "type": "text", "show": ["initial", "announcement"]},
    {"name": "ticket", "type": "link", "show": ["initial"]},
    {"name": "liaison", "type": "user"},
]


async def test_hostile_titles_and_field_values_stay_inert_through_a_custom_template(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    line = (
        "<!everyone> {{ incident.title }} / {{ incident.fields.customer }}"
        " / {{ link(incident.fields.ticket) }} / {{ incident.fields.liaison }}"
    )
    files = {"update.j2": line, "announce.j2": line, "initial.j2": line}
    await _words(h, tmp_path / "words", files, fields=FIELDS)
    channel = await h.declare(f"sev2 {HOSTILE_TITLE}")
    await _set(h, channel, customer="<!here> <https://evil.example/y|free money>", liaison="U0CAROL")
    await _set(h, channel, ticket="javascript:alert(1)")
    await h.command(h.alice, channel, "update monitoring <!channel> watching")
    update = _sections(_posts(h, channel)[-1])[0]
    assert update == (
        "@everyone @channel ping click (https://evil.example/x) @U0BOB &amp; co / @here free money "
        "(https://evil.example/y) / javascript:alert(1) / <@U0CAROL>"
    )
    await _set(h, channel, ticket="https://tickets.example.com/T-1?a=1&b=2")
    await h.command(h.alice, channel, "update identified found it")
    assert "<https://tickets.example.com/T-1?a=1&amp;b=2|tickets.example.com/T-1>" in _shown(h, channel)
    shown = _shown(h, channel, h.announce)
    for live in LIVE:
        assert live not in shown, live


async def test_the_default_templates_show_the_fields_meant_for_them(harness: Harness, tmp_path: Path) -> None:
    h = harness
    h.policy = h.policy_for(fields=FIELDS)
    await h.restart()
    channel = await h.declare("sev2 Search is slow")
    facts = _sections(_posts(h, channel)[0])[0].splitlines()
    assert facts[-3:] == ["*Customer:* _not set_", "*Ticket:* _not set_", "*Liaison:* _not set_"]
    await _set(h, channel, customer="<!here> Globex", ticket="https://tickets.example.com/T-9")
    await h.command(h.alice, channel, "update identified found it")  # the announcement is redrawn
    announced = _sections(_posts(h, h.announce, "chat.update")[-1])[0]
    assert announced.splitlines()[-1] == "*Customer:* @here Globex"


async def test_a_private_incidents_announcement_is_redacted_whatever_the_template_says(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    said = (
        "{{ incident.title }} | {{ incident.impact }} | {{ incident.channel }} | {{ incident.commander }} | "
        "{{ incident.fields.customer }} | {{ shown_fields | length }} | {{ incident.severity }} | "
        "{{ incident.declared_by }}"
    )
    await _words(h, tmp_path / "words", {"announce.j2": said}, fields=FIELDS)
    channel = await h.declare("--private sev1 Embargoed merger with Globex")
    await _set(h, channel, customer="Globex")
    await h.command(h.alice, channel, "update identified found it")
    shown = _shown(h, h.announce)
    assert "Globex" not in shown and "Embargoed" not in shown and channel not in shown
    assert _sections(_posts(h, h.announce)[0]) == [
        f"a private incident |  |  |  |  | 0 | SEV1 | <@{h.alice}>"
    ]
    # In its own channel, where only members read, the template says everything.
    assert "Embargoed merger with Globex" in _shown(h, channel)


async def test_a_template_failing_on_real_data_falls_back_to_the_default(
    harness: Harness, tmp_path: Path, log_stream: io.StringIO
) -> None:
    h = harness
    own = '{% if incident.title == "Boom" %}{{ incident.nope }}{% endif %}Ours: {{ incident.title }}'
    await _words(h, tmp_path / "words", {"initial.j2": own})
    fine = await h.declare("sev2 Fine")
    assert _sections(_posts(h, fine)[0]) == ["Ours: Fine"]
    boom = await h.declare("sev2 Boom")
    [initial] = _posts(h, boom)
    assert _sections(initial)[0].startswith("*Severity:* :large_orange_circle: SEV2 (Major)")
    assert [c.params["timestamp"] for c in h.emu.calls_to("pins.add")][-1] == initial.response["ts"]
    logged = log_stream.getvalue()
    assert (
        f"template {tmp_path / 'words' / 'initial.j2'}:1:" in logged
        and "using the default initial.j2" in logged
    )


async def test_a_template_may_ask_for_a_value_as_written_but_never_for_a_broadcast(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    await _words(h, tmp_path / "words", {"update.j2": "{{ update.text | raw }}\n---\n{{ update.text }}"})
    channel = await h.declare("sev2 Search is slow")
    said = "<!channel> see <https://status.example.com|status> & ask <@U0BOB>"
    await h.command(h.alice, channel, f"update identified {said}")
    assert _sections(_posts(h, channel)[-1]) == [
        "@channel see <https://status.example.com|status> & ask <@U0BOB>",
        "@channel see status (https://status.example.com) &amp; ask @U0BOB",
    ]
