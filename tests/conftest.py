"""Shared fixtures. Every Web API call an emulator receives is checked against Slack's spec at teardown."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from slack_emulator import SlackEmulator
from tests.slack_spec import assert_emulator_ok


@pytest.fixture
async def emulator() -> AsyncIterator[SlackEmulator]:
    """A fresh, running Slack emulator (real clock); its calls must conform to Slack's spec."""
    emu = SlackEmulator()
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()
    assert_emulator_ok(emu)


from tests.fixtures import (  # noqa: E402, F401
    database_url,
    harness,
    hooks,
    log_stream,
    pg_database,
    policy_data,
    statuspage,
)
