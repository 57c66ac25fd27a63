"""`incident-bot export` writes the draft and the JSON page by page, never loading the whole timeline,
byte for byte what the renderers of the whole document write."""

from __future__ import annotations

import json

import pytest

from bot.reports_cli import export
from config.policy import Policy
from config.settings import Settings
from messages.postmortem import markdown
from services.timeline import load_postmortem
from storage.repositories import TimelineRepo
from tests.harness import Harness
from tests.services.test_postmortem_long import _seed


async def test_export_writes_page_by_page_the_same_documents(
    harness: Harness, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    channel = await h.declare("sev2 Checkout | payments *failing* for EU")
    await h.command(h.alice, channel, f"followup <@{h.bob}|bob> +3d Add a breaker")
    await _seed(h, 3_210)
    await h.command(h.alice, channel, "resolve Rolled back")
    whole = await load_postmortem(h.bot.shared.db, "T0EMU", "1")
    assert whole is not None and len(whole.entries) > 3_210
    expected = {"markdown": markdown(whole), "json": json.dumps(whole.to_json(), indent=2) + "\n"}

    async def whole_timeline(_repo: TimelineRepo, _incident_id: int) -> list[object]:
        raise AssertionError("the whole timeline was loaded at once")

    monkeypatch.setattr(TimelineRepo, "for_incident", whole_timeline)
    settings = Settings(database_url=h.database_url, _env_file=None)
    capsys.readouterr()
    for fmt, document in expected.items():
        assert await export(settings, Policy(), "INC-1", fmt, None) == 0
        out = capsys.readouterr()
        assert (out.out, out.err) == (document, ""), fmt
