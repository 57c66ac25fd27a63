"""The one rule for a Slack call whose loss is survivable: transient re-raised, anything else a warning."""

from __future__ import annotations

import logging

import pytest

from runtime.journal import carry_on
from runtime.slack_ops import SlackOpError

log = logging.getLogger("tests.carry_on")


def test_a_transient_failure_propagates_so_the_caller_is_retried() -> None:
    with pytest.raises(SlackOpError, match="ratelimited"), carry_on(log, "could not post"):
        raise SlackOpError("chat.postMessage", "ratelimited", transient=True)


def test_a_permanent_failure_is_a_warning_kept_and_the_caller_carries_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    after = []
    with caplog.at_level(logging.WARNING, logger="tests.carry_on"):
        with carry_on(log, "could not remind %s", "U0ANN", incident_id=7) as lapse:
            raise SlackOpError("chat.postMessage", "channel_not_found")
        after.append("carried on")
    assert after == ["carried on"]
    assert lapse.error is not None and lapse.error.error == "channel_not_found"
    [record] = caplog.records
    assert record.name == "tests.carry_on" and record.levelno == logging.WARNING
    assert record.getMessage() == "could not remind U0ANN: chat.postMessage: channel_not_found"
    assert record.incident_id == 7  # type: ignore[attr-defined]


def test_other_errors_are_not_its_business() -> None:
    with pytest.raises(KeyError), carry_on(log, "could not post"):
        raise KeyError("x")
    with carry_on(log, "could not post") as lapse:
        pass
    assert lapse.error is None
