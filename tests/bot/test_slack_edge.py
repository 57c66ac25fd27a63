"""`POST /slack/events` from outside: the signature is checked before the body is read as text, so
unsigned or malformed bodies get a 4xx and at most one log line, never a 500 and a traceback."""

from __future__ import annotations

import json
import logging
import time
from urllib.parse import urlencode

import aiohttp
import pytest

from tests.harness import Harness

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


async def _post(h: Harness, body: bytes, content_type: str, headers: dict[str, str]) -> int:
    sent = {"Content-Type": content_type, **headers}
    async with aiohttp.ClientSession() as session, session.post(
        h.driver.app_url, data=body, headers=sent
    ) as resp:  # fmt: skip
        await resp.read()
        return resp.status


def _noise(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.INFO]


def _assert_quiet(caplog: pytest.LogCaptureFixture, what: str) -> None:
    records = _noise(caplog)
    assert len(records) <= 1, f"{what}: {[r.getMessage() for r in records]}"
    assert not [r for r in records if r.exc_info], f"{what}: a traceback was logged"
    assert all("\n" not in r.getMessage() for r in records), f"{what}: more than one line"
    caplog.clear()


GARBAGE = [
    (b"\xff\xfe\xfa not utf-8", FORM),
    (b"\xff\xfe\xfa not utf-8", JSON),
    (b"{not json", JSON),
    (b"{not json", FORM),
    (b"payload=%7Bnot+json", FORM),
]


async def test_unsigned_garbage_gets_401_and_one_line_at_most(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    caplog.set_level(logging.INFO)
    stale = h.driver.sign(b"{not json", timestamp=int(time.time()) - 3600)
    for body, kind in GARBAGE:
        for headers in (
            {},
            {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"},
            {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=00"},
        ):
            assert await _post(h, body, kind, headers) == 401, (body, kind, headers)
            _assert_quiet(caplog, f"unsigned {body!r} as {kind}")
    # Signed, but five minutes or more ago: a replay.
    assert await _post(h, b"{not json", JSON, stale) == 401
    _assert_quiet(caplog, "a stale signature")


async def test_signed_bodies_that_are_not_form_json_or_utf8_get_400_and_one_line(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    h = harness
    caplog.set_level(logging.INFO)
    for body, kind in [*GARBAGE, (b"[1, 2]", JSON), (b'"text"', JSON), (b"payload=%5B1%5D", FORM)]:
        assert await _post(h, body, kind, h.driver.sign(body)) == 400, (body, kind)
        _assert_quiet(caplog, f"signed {body!r} as {kind}")
    # The bot still answers real requests afterwards.
    channel = await h.declare("sev3 Still answering")
    assert channel


async def test_a_signed_command_still_works_and_an_altered_body_does_not(harness: Harness) -> None:
    h = harness
    body = urlencode(
        {
            "command": "/incident",
            "text": "help",
            "user_id": h.alice,
            "channel_id": h.general,
            "team_id": h.emu.state.team_id,
            "trigger_id": "1.2.3",
            "response_url": h.emu.base_url + "response/x",
        }
    ).encode()
    headers = h.driver.sign(body)
    assert await _post(h, body + b"&x=1", FORM, headers) == 401
    assert await _post(h, body, FORM, headers) == 200
    event = json.dumps({"type": "url_verification", "challenge": "abc"}).encode()
    assert await _post(h, event, JSON, h.driver.sign(event)) == 200
