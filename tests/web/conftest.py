"""The web view's fixture: the harness with Sign in with Slack on, its calls checked against the spec."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.web.test_web_view import CLIENT_ID, CLIENT_SECRET, WebHarness


@pytest.fixture
async def web_harness(database_url: str, policy_data: dict) -> AsyncIterator[WebHarness]:
    h = WebHarness(database_url, policy_data)
    await h.start()
    h.emu.register_app(CLIENT_ID, CLIENT_SECRET)
    try:
        yield h
    finally:
        await h.stop()
    from tests.slack_spec import assert_calls_conform

    assert_calls_conform(h.emu.calls)
