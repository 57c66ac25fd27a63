"""Text for outside Slack (files, pages, terminals): people by name, tokens as words, never markup."""

from __future__ import annotations

import pytest

from messages.text import person, readable

NAMES = {"U0CAROL": "Carol Danvers", "U0EVE": "<!channel> <@U0BOB>"}


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("<@U0CAROL> took it", "Carol Danvers took it"),
        ("<@U0CAROL|carol> took it", "Carol Danvers took it"),  # the looked-up name over the label
        ("<@U0ANN|ann> and <@U0NOBODY>", "ann and U0NOBODY"),
        ("<!channel> <!here> <!everyone>", "@channel @here @everyone"),
        ("ask <!subteam^S0SRE|@sre> or <!subteam^S0DB>", "ask @sre or @S0DB"),
        ("in <#C0GENERAL|general> and <#C0X>", "in #general and #C0X"),
        ("<https://dash.test/x|the dash> <https://a.test>", "the dash (https://dash.test/x) https://a.test"),
        ("<!date^1392734382^{date}|Feb 18>", "Feb 18"),
        ("paged <@U0EVE>", "paged ‹!channel> ‹@U0BOB>"),  # a name holding tokens stays words
        ("<<@U0CAROL>!here> <@U0BOB", "<Carol Danvers!here> ‹@U0BOB"),
    ],
)
def test_tokens_become_words_and_people_names(text: str, shown: str) -> None:
    assert readable(text, NAMES) == shown
    assert "<@" not in readable(text, NAMES) and "<!" not in readable(text, NAMES)


def test_a_person_is_their_name_else_their_bare_id() -> None:
    assert person("U0CAROL", NAMES) == "Carol Danvers"
    assert person("U0NOBODY", NAMES) == "U0NOBODY" and person("U0NOBODY") == "U0NOBODY"
    assert person("U0EVE", NAMES) == "‹!channel> ‹@U0BOB>"
