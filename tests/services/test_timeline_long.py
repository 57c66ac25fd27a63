"""`/incident timeline` of a long incident reads the entries it shows and a count, not every entry."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, select

from storage.models import Incident, TimelineEntry
from tests.harness import Harness


async def test_the_timeline_of_5000_entries_reads_what_it_shows(harness: Harness) -> None:
    h = harness
    channel = await h.declare("sev2 Checkout is down")
    async with h.bot.shared.db.session() as s:
        incident = (await s.execute(select(Incident))).scalar_one()
        rows = [
            {
                "incident_id": incident.id,
                "kind": "note",
                "text": f"entry {i}: looked at the dashboards again",
                "at": incident.declared_at + timedelta(seconds=i),
                "author_id": h.alice,
            }
            for i in range(5_000)
        ]
        await s.execute(TimelineEntry.__table__.insert(), rows)
    loaded: list[object] = []
    load = lambda target, _context: loaded.append(target)  # noqa: E731
    event.listen(TimelineEntry, "load", load)
    try:
        await h.command(h.alice, channel, "timeline")
    finally:
        event.remove(TimelineEntry, "load", load)
    [shown] = [m for m in h.emu.ephemerals(h.alice) if m.get("text", "").startswith("Timeline of INC-1")]
    lines = sum(b["text"]["text"].count("\n") + 1 for b in shown["blocks"] if b["type"] == "section")
    assert shown["text"] == "Timeline of INC-1 (5001 entries)"
    footer = shown["blocks"][-1]["elements"][0]["text"]
    assert footer.startswith(f"{5001 - lines} more entries not shown; 5001 entries"), footer
    assert lines < len(loaded) <= lines + 50, f"{len(loaded)} entries read to show {lines}"
