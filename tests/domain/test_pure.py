"""Pure helpers: severities, durations, channel names, mrkdwn escaping, database URLs."""

import re
from datetime import UTC, datetime, timedelta

import pytest

from config.errors import ConfigError
from domain.channels import MAX_NAME, channel_name, slugify
from domain.durations import format_duration, parse_duration
from domain.severity import Severity
from messages.blocks import truncate
from messages.text import code, escape, from_slack, guard, plain
from storage.db import async_url

AT = datetime(2026, 11, 22, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "sev"),
    [
        ("sev1", "SEV1"),
        ("SEV2", "SEV2"),
        ("Sev-3", "SEV3"),
        ("sev 4", "SEV4"),
        ("P0", "SEV1"),
        ("p3", "SEV4"),
    ],
)
def test_severity_aliases(text: str, sev: str) -> None:
    assert Severity.parse(text) == Severity(sev)


@pytest.mark.parametrize("text", ["sev0", "sev5", "p4", "critical", "", "sev12"])
def test_severity_rejects(text: str) -> None:
    assert Severity.parse(text) is None


def test_durations() -> None:
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("2h30m") == timedelta(hours=2, minutes=30)
    assert parse_duration("1d") == timedelta(days=1)
    assert parse_duration("1w") == timedelta(weeks=1)
    for bad in ["", "30", "m30", "1h 30m", "1y", "-5m"]:
        with pytest.raises(ValueError):
            parse_duration(bad)
    assert format_duration(timedelta(minutes=95)) == "1h 35m"
    assert format_duration(timedelta(seconds=42)) == "42s"
    assert format_duration(timedelta(days=2, hours=3, minutes=7)) == "2d 3h"


def test_channel_names_are_valid_and_distinct_per_attempt() -> None:
    valid = re.compile(r"[a-z0-9_-]{1,80}")
    names = [channel_name("incident", AT, "Checkout: 500s on <!channel> EU!!", a) for a in range(4)]
    assert names[0] == "incident-20261122-0304-checkout-500s-on-channel-eu"
    assert names[1] == "incident-20261122-030405-checkout-500s-on-channel-eu"
    assert len(set(names)) == 4
    for name in [*names, channel_name("incident", AT, "x" * 500, 3), channel_name("incident", AT, "😀", 0)]:
        assert valid.fullmatch(name), name
        assert len(name) <= MAX_NAME
    assert channel_name("incident", AT, "😀", 0) == "incident-20261122-0304"


def test_slugify_cuts_at_word_boundary() -> None:
    assert (
        slugify("Database primary failover stuck in eu-west-1 region again", 30)
        == "database-primary-failover"
    )


def test_escape_makes_outside_text_inert_and_readable() -> None:
    text = "ping <!channel> <!here> <!everyone> <!subteam^S1|@ops> a<b & c> <@U123|ann> <@U9> <#C1|ops> <https://x.io|x>"
    out = escape(text, {"U9": "bob"})
    assert "<" not in out and ">" not in out
    assert out == "ping @channel @here @everyone @ops a&lt;b &amp; c&gt; @ann @bob #ops x (https://x.io)"
    assert escape("&lt;!here&gt;") == "&amp;lt;!here&amp;gt;", "typed entities stay text"
    # A token hidden in a label comes out flattened, never whole again.
    assert "<" not in escape("<!here|<!here>>") and "<" not in plain("<!here|<!here>>")


def test_code_plain_and_quoted_message_variants() -> None:
    fenced = f"```{code('x ``` <!here> `')}```"
    assert fenced.count("```") == 2 and "<!here>" not in fenced
    assert plain("<!channel> <@U1|ann> <https://x.io|x> a < b") == "@channel @ann x (https://x.io) a ‹ b"
    assert from_slack("<@U1|ann> said &lt;!here&gt; &amp; left") == "@ann said <!here> & left"


def test_guard_keeps_the_bots_mentions_and_nothing_else() -> None:
    said = guard("Could not invite <@U0NOBODY> (`<!channel>` <https://x.io|x>)")
    assert said == "Could not invite <@U0NOBODY> (`&lt;!channel&gt;` &lt;https://x.io|x&gt;)"


def test_truncate_never_splits_an_entity() -> None:
    assert truncate("abc", 3) == "abc"
    assert truncate("abcd", 3) == "ab…"
    assert truncate("a &amp; b", 5) == "a …"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///./incident-bot.db", "sqlite+aiosqlite:///./incident-bot.db"),
        ("sqlite:////var/lib/bot.db", "sqlite+aiosqlite:////var/lib/bot.db"),
        ("postgresql://u:p@db:5432/bot", "postgresql+asyncpg://u:p@db:5432/bot"),
        ("postgres://u@db/bot", "postgresql+asyncpg://u@db/bot"),
        ("postgresql+psycopg2://u@db/bot", "postgresql+asyncpg://u@db/bot"),
        ("postgresql://u@db/bot?sslmode=require", "postgresql+asyncpg://u@db/bot?ssl=require"),
    ],
)
def test_async_url(url: str, expected: str) -> None:
    assert async_url(url) == expected


@pytest.mark.parametrize("url", ["mysql://u@h/db", "not a url"])
def test_async_url_refuses(url: str) -> None:
    with pytest.raises(ConfigError):
        async_url(url)


def test_json_log_lines_carry_bound_ids_and_never_secrets() -> None:
    import io
    import json
    import logging

    from runtime import logs

    logs.configure("json", "INFO", ["xoxb-very-secret-token"])
    stream = io.StringIO()
    handler = logging.getLogger().handlers[0]
    handler.setStream(stream)  # type: ignore[attr-defined]
    logs.bind(event_id="Ev0001", request_id="123.456")
    logging.getLogger("bot.test").info("using xoxb-very-secret-token", extra={"incident_id": 7})
    line = json.loads(stream.getvalue())
    assert (line["event_id"], line["request_id"], line["incident_id"]) == ("Ev0001", "123.456", 7)
    assert "xoxb-very-secret-token" not in stream.getvalue() and "[redacted]" in line["message"]
    logs.log_ids.set(None)
    logging.getLogger().handlers.clear()
