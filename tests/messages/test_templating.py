"""The template engine: escaping, broadcasts, sections, variants by severity and service, errors by line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from messages.templating import Mrkdwn, Source, TemplateError, Templates, When


def src(file: str, text: str, where: str = "own") -> Source:
    return Source(file, text, f"{where}/{file}")


def test_values_from_people_are_escaped_and_the_bots_mrkdwn_is_not() -> None:
    t = Templates({"initial.j2": src("initial.j2", "*{{ title }}* led by {{ who }}", "default")})
    [out] = t.render("initial", {"title": "<!channel> <https://evil|click> & co", "who": Mrkdwn("<@U1>")})
    assert out == "*@channel click (https://evil) &amp; co* led by <@U1>"


def test_a_broadcast_never_survives_even_in_the_templates_own_text() -> None:
    t = Templates({"initial.j2": src("initial.j2", "<!here> <!channel|channel> {{ x }}")})
    [out] = t.render("initial", {"x": "ok"})
    assert "<!" not in out and out.startswith("@here @channel")


def test_sections_split_at_rules_and_at_slacks_limit() -> None:
    t = Templates({"update.j2": src("update.j2", "a\n---\n\n---\nb\n{{ long }}")})
    parts = t.render("update", {"long": ("line\n" * 1000).strip()})
    assert parts[0] == "a" and all(len(p) <= 3000 for p in parts) and len(parts) == 3


def test_the_most_specific_variant_wins() -> None:
    files = [
        "initial.j2",
        "initial.sev1.j2",
        "initial.service-checkout.j2",
        "initial.service-checkout.sev1.j2",
    ]
    t = Templates({f: src(f, f) for f in files})
    assert t.render("initial", {}, "SEV1", "checkout") == ["initial.service-checkout.sev1.j2"]
    assert t.render("initial", {}, "SEV2", "checkout") == ["initial.service-checkout.j2"]
    assert t.render("initial", {}, "SEV1", "search") == ["initial.sev1.j2"]
    assert t.render("initial", {}, "SEV3", None) == ["initial.j2"]


def test_own_files_replace_defaults_and_are_listed() -> None:
    t = Templates({"update.j2": src("update.j2", "default", "d")}, {"update.j2": src("update.j2", "mine")})
    assert t.render("update", {}) == ["mine"] and t.overridden() == ["update.j2"]


def test_an_unknown_variable_names_file_and_line() -> None:
    t = Templates({"page.j2": src("page.j2", "fine\n\n{{ incident.titel }}")})
    with pytest.raises(TemplateError) as err:
        t.render("page", {"incident": {"title": "x"}})
    assert err.value.where == "own/page.j2:3" and "titel" in err.value.problem


def test_a_syntax_error_names_file_and_line_at_load() -> None:
    with pytest.raises(TemplateError) as err:
        Templates({}, {"reminder.j2": src("reminder.j2", "ok\n{% if %}")})
    assert err.value.where == "own/reminder.j2:2"


def test_the_sandbox_refuses_reaching_into_python() -> None:
    t = Templates({"initial.j2": src("initial.j2", "{{ x.__class__.__mro__ }}")})
    with pytest.raises(TemplateError):
        t.render("initial", {"x": "s"})


def test_links_only_for_clean_urls_and_times_read_in_utc() -> None:
    t = Templates(
        {"initial.j2": src("initial.j2", "{{ link(u, 'Dash') }} {{ link(bad, 'X') }} {{ at }} {{ at.time }}")}
    )
    at = When(datetime(2026, 11, 22, 3, 4, tzinfo=UTC))
    [out] = t.render("initial", {"u": "https://g.example/d?a=1&b=2", "bad": "javascript:alert(1)", "at": at})
    assert out == "<https://g.example/d?a=1&amp;b=2|Dash> X 2026-11-22 03:04 UTC 03:04 UTC"


def test_too_many_sections_is_an_error() -> None:
    t = Templates({"initial.j2": src("initial.j2", "{% for i in range(30) %}x{{ i }}\n---\n{% endfor %}")})
    with pytest.raises(TemplateError, match="sections"):
        t.render("initial", {})
