"""What a workflow run says on the timeline, in Slack and outside it: failures with their reason (inert,
cut short), quotes cut before they are escaped, and the bot's markup plain outside Slack."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.severity import Severity
from messages.postmortem import Postmortem, markdown_rows
from messages.timeline import entry_mrkdwn, entry_text
from messages.workflows import quoted, reason, run_entry, step_failed
from storage.models import Incident, TimelineEntry

AT = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)


def _entry(kind: str, text: str) -> TimelineEntry:
    return TimelineEntry(at=AT, kind=kind, text=text)


def pm(names: dict[str, str]) -> Postmortem:
    incident = Incident(number=1, title="t", severity=Severity.SEV2, declared_at=AT, status="investigating")
    return Postmortem(incident, [], names)


def test_a_failed_step_says_why_on_the_run_line() -> None:
    line = run_entry("leads", ["posted “hi”"], [(1, "invite", "there is no user group @nope")])
    assert line == "Workflow *leads*: posted “hi”; step 2 (`invite`) failed: there is no user group @nope"


def test_a_reason_keeps_the_bots_mentions_and_makes_the_rest_inert_escaped_once() -> None:
    why = "sent a DM to <@U0BOB>, but <!channel> &amp; <https://evil.example.com|x> & no group @a&amp;b"
    assert reason(why) == (
        "sent a DM to <@U0BOB>, but &lt;!channel&gt; &amp; &lt;https://evil.example.com|x&gt; &amp; "
        "no group @a&amp;b"
    )
    cut = reason("could not page " + "x" * 100 + " <@U0BOB>", 110)
    assert cut.endswith("x…") and "<" not in cut, "never half a mention"
    assert len(reason("word " * 100, 120)) == 120
    assert step_failed("w", 0, 1, "page", "no level a&amp;b").text.startswith(
        ":warning: Workflow *w*: step 1 of 1 (`page`) failed: no level a&amp;b."
    ), "what the step escaped is not escaped again"


def test_a_quote_is_cut_as_plain_text_then_escaped() -> None:
    assert quoted("SEV3->SEV1 & " + "y" * 60, 20) == "“SEV3-&gt;SEV1 &amp; yyyyyy…”"


def test_a_workflow_line_outside_slack_is_unescaped_once_and_names_people() -> None:
    entry = _entry(
        "workflow",
        "Workflow *raised*: posted “SEV3-&gt;SEV1 &amp; @channel &lt;b&gt;”, sent a DM to <@U0ANA>; "
        "step 3 (`invite`) failed: no group &amp;",
    )
    names = {"U0ANA": "ana"}
    assert entry_text(entry, names) == (
        "Workflow raised: posted “SEV3->SEV1 & @channel <b>”, sent a DM to ana; "
        "step 3 (`invite`) failed: no group &"
    )
    assert markdown_rows(pm(names), [entry], False) == (
        "| 03:00 | Workflow raised: posted “SEV3-&gt;SEV1 &amp; @channel &lt;b&gt;”, sent a DM to ana; "
        "step 3 (`invite`) failed: no group &amp; |\n"
    )


def test_a_loop_entry_reads_plainly_everywhere() -> None:
    said = "Workflow *ping* not run again on field_changed: its own chain set it off (ping → pong)"
    entry = _entry("workflow_loop", said)
    assert entry_mrkdwn(entry) == said, "the bot's own words, its bold kept in Slack"
    plain = "Workflow ping not run again on field_changed: its own chain set it off (ping → pong)"
    assert entry_text(entry) == plain
    assert markdown_rows(pm({}), [entry], False) == f"| 03:00 | {plain} |\n"


def test_peoples_markup_in_a_workflow_line_stays_inert_outside_slack() -> None:
    entry = _entry("workflow", "Workflow *w*: posted “&lt;!channel&gt; *now* `&lt;@U0X&gt;` [a](https://x)”")
    text = entry_text(entry)
    assert "<!" not in text and "<@" not in text
    row = markdown_rows(pm({}), [entry], False)
    assert row == "| 03:00 | Workflow w: posted “@channel \\*now\\* `U0X` \\[a\\](https://x)” |\n"
