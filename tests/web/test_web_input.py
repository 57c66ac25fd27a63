"""The web view's pages given hostile query strings and paths: never a 500, at most one log line."""

from __future__ import annotations

import logging

import pytest

from tests.web.test_web_view import WebHarness, sign_in

pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")


async def test_out_of_range_dates_nul_bytes_and_huge_numbers_are_not_server_errors(
    web_harness: WebHarness, caplog: pytest.LogCaptureFixture
) -> None:
    h = web_harness
    await h.declare("sev2 Search is slow")
    session = await sign_in(h, h.alice)
    caplog.clear()
    failed: list[tuple[str, int, int]] = []
    try:
        for path in (
            "/ui/?to=9999-12-31",
            "/ui/?from=9999-12-31&to=9999-12-31",
            "/ui/?from=0001-01-01&to=0001-01-01",
            "/ui/?q=%00",
            "/ui/?q=slow%00",
            "/ui/?q=%ff%fe",
            "/ui/?service=%00",
            "/ui/?service=%ff%fe",
            "/ui/?page=99999999999999999999999&sort=%00",
            "/ui/incidents/99999999999999999999",
            "/ui/incidents/1?part=%00",
            "/ui/incidents/99999999999999999999/export.json",
            "/ui/metrics?days=99999999999999999999",
        ):
            caplog.clear()
            async with session.get(h.url + path, allow_redirects=False) as resp:
                await resp.read()
            errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
            if resp.status >= 500 or len(errors) > 1 or any(r.exc_info for r in errors):
                failed.append((path, resp.status, len(errors)))
        assert failed == [], failed
        async with session.get(h.url + "/ui/?to=9999-12-31") as resp:
            assert resp.status == 200 and "Search is slow" in await resp.text(), "no upper bound left"
        async with session.get(h.url + "/ui/?q=slow%00") as resp:
            assert resp.status == 200 and "Search is slow" in await resp.text(), "the NUL is dropped"
    finally:
        await session.close()
