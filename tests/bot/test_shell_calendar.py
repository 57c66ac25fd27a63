"""The shell runs the scheduler's calendar job too: a schedule given by URL pages whoever it names."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

FEED = b"""BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//feed//EN
BEGIN:VEVENT
UID:dave-every-day@test
SUMMARY:U0DAVE
DTSTART:20260101T000000Z
DTEND:20260102T000000Z
RRULE:FREQ=DAILY
END:VEVENT
END:VCALENDAR
"""


class _Feed(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/calendar")
        self.send_header("Content-Length", str(len(FEED)))
        self.end_headers()
        self.wfile.write(FEED)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def feed_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Feed)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/private-SECRETKEY123/db.ics"
    finally:
        server.shutdown()


def test_the_shell_pages_whoever_the_calendar_names(
    tmp_path: Path, feed_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import main

    monkeypatch.delenv("INCIDENT_BOT_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "policy.toml").write_text(
        f'announce_channel = "#incidents"\n\n[[schedules]]\nname = "db"\nical_url = "{feed_url}"\n'
        'fallback = ["U0BOB"]\n\n[[escalation.levels]]\nname = "L1"\ntitle = "Database on-call"\n'
        'schedule = "db"\n'
    )
    script = tmp_path / "script.txt"
    script.write_text("/incident declare sev2 Search is down\n")
    assert main(["shell", "--script", str(script), "--config", str(tmp_path / "policy.toml")]) == 0
    out = capsys.readouterr().out
    assert "You are paged (L1 Database on-call)" in out and "[dm] @dave" in out, out
    assert "[dm] @bob" not in out, "the calendar, not its fallback"
