"""Reading a team's Markdown runbook in each of the four shapes, with missing parts and hostile text."""

from datetime import timedelta
from pathlib import Path

import pytest

from domain.runbooks import MAX_TEXT, Dashboard, DiagnosisStep, EscalationLevel, Expert, parse_runbook

HERE = Path(__file__).parent / "runbooks"
SEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"


def _read(name: str) -> str:
    return (HERE / name).read_text(encoding="utf-8")


def test_incident_sections_with_headed_parts() -> None:
    book = parse_runbook(_read("checkout_incidents.md"))
    assert book.title == "Checkout Incident Runbook"
    assert (book.owner, book.on_call) == ("@payments-team", "@payments-oncall")
    assert book.dashboards == (Dashboard("Checkout Dashboard", "https://grafana.example.test/d/checkout"),)
    down, declines = book.failure_modes
    assert down.name == "Checkout Down / 502 Errors"
    assert down.symptoms == ("`/checkout` returns 502", "Orders per minute drop to zero")
    assert down.steps == (
        # the `#` line inside the fence stays code, not a heading
        DiagnosisStep(
            "Check the pods", "kubectl get pods -l app=checkout\n# a comment inside code, not a heading"
        ),
        DiagnosisStep("Check the last deploy", "kubectl rollout history deployment/checkout"),
    )
    assert "kubectl rollout undo deployment/checkout" in down.resolution
    assert "curl -fsS https://checkout.example.test/health" in down.verification
    assert down.line == 12
    assert declines.symptoms == ("Decline rate above 20% <!channel>",)  # kept as written
    assert declines.steps == (DiagnosisStep("Look at the gateway status page"),)
    assert declines.resolution == "Switch to the backup gateway."
    assert book.escalation == () and book.experts == ()


def test_service_template_with_bold_labels_escalation_and_experts() -> None:
    book = parse_runbook(_read("search_service.md"))
    assert (book.service, book.owner, book.on_call) == ("search", "@search-team", "@search-primary")
    # Only "### Dashboards" counts, not the Alerts beside it under "Dashboards & Alerts".
    assert book.dashboards == (
        Dashboard("Primary Dashboard", "https://grafana.example.test/d/search"),
        Dashboard("Logs Dashboard", "https://logs.example.test/search"),
        Dashboard("Traces", ""),
    )
    slow, missing = book.failure_modes
    assert slow.name == "Slow Queries"
    assert slow.symptoms == ("p95 above 800ms", "Timeouts in the frontend")
    assert [s.title for s in slow.steps] == ["Check the cluster health", "Check the slow log"]
    assert slow.steps[1].code == "tail -n 50 /var/log/search/slow.log"
    assert slow.causes == ("Hot shard", "Large merge running")
    assert slow.resolution == 'Move the hot shard, see "Procedures"'
    assert (missing.name, missing.steps, missing.resolution) == (
        "Index Missing",
        (),
        "Restore from the snapshot.",
    )
    assert book.escalation == (
        EscalationLevel(1, "On-Call Engineer", None),
        EscalationLevel(2, "Search Lead", timedelta(minutes=45)),
        EscalationLevel(3, "Engineering Manager", timedelta(hours=2)),
        EscalationLevel(4, "VP Engineering", timedelta(days=1)),
    )
    assert book.experts == (Expert("Database", "@dba-team"), Expert("Networking", "@net-team"))


def test_guide_with_quick_reference_table_and_rb_sections() -> None:
    book = parse_runbook(_read("platform_guide.md"))
    assert book.owner == "Platform Team"  # no handle given: the text as written
    modes = {m.name: m for m in book.failure_modes}
    assert list(modes) == ["Queue Backlog", "Disk Full", "Certificate Expired"]
    backlog = modes["Queue Backlog"]
    assert (backlog.reference, backlog.severity, backlog.time) == ("RB-010", "P1", "10-20 minutes")
    assert [s.title for s in backlog.steps] == ["Check consumer lag", "Check worker pods"]
    assert "kubectl scale deployment/worker --replicas=10" in backlog.resolution
    # The table's time stands in only where the section gives none; a row without a section still counts.
    assert (modes["Disk Full"].severity, modes["Disk Full"].time) == ("P0", "5 minutes")
    assert (modes["Certificate Expired"].reference, modes["Certificate Expired"].steps) == ("RB-012", ())
    assert book.experts == (Expert("Database DBA", "@db.oncall"), Expert("Incident Commander", "@ic.primary"))


def test_one_failure_per_file() -> None:
    book = parse_runbook(_read("run_cache_eviction.md"))
    assert (book.service, book.owner) == ("session-cache", "@cache-team")
    (mode,) = book.failure_modes
    assert (mode.name, mode.reference, mode.severity, mode.time) == (
        "Cache Eviction Storm",
        "RUN-042",
        "P1 - High",
        "20 minutes",
    )
    assert mode.symptoms == ("[MON-311]: Eviction rate above 5k/s", "Users logged out at random")
    assert [s.title for s in mode.steps] == ["Check Memory", "Check Recent Deploys"]
    assert mode.steps[0].code == "redis-cli INFO memory | grep used_memory_human"
    assert mode.steps[1].detail == "- [ ] Look at #deployments"
    assert "Raise maxmemory" in mode.resolution
    # "Escalate if" under a level sets when the next level comes in.
    assert book.escalation == (
        EscalationLevel(1, "On-call engineer (you)", None),
        EscalationLevel(2, "Cache lead @cache-lead", timedelta(minutes=20)),
        EscalationLevel(3, "Engineering Manager", timedelta(hours=1)),
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "no headings at all, just words",
        "# Only a title\n",
        "## Incident: Bare\n",
        "### Issue 1: Half\n**Symptoms**:\n**Diagnosis**:\n```bash\n",  # unclosed fence
        "## Escalation Path\n**Level 9**\n1. **L2**:\n",
        "## Quick Reference\n| a |\n|---|\n| |\n| x | P9 | soon |\n",
        "**Owner**:\n**Owner** @x\n** **: y\n",
    ],
)
def test_missing_or_broken_parts_give_empty_values(text: str) -> None:
    book = parse_runbook(text)
    assert book.owner == "" and book.dashboards == () and not book.truncated
    for mode in book.failure_modes:
        assert mode.name and isinstance(mode.steps, tuple)


def test_a_failure_without_parts_is_named_and_empty() -> None:
    (mode,) = parse_runbook("## Incident: Bare\n").failure_modes
    assert (mode.name, mode.symptoms, mode.steps, mode.resolution) == ("Bare", (), (), "")


def test_mentions_and_markup_are_kept_as_text() -> None:
    text = "## Incident: <!channel> *boom* <@U123>\n### Symptoms\n- <!here> `x` <https://e.test|click>\n"
    (mode,) = parse_runbook(text).failure_modes
    assert mode.name == "<!channel> *boom* <@U123>"
    assert mode.symptoms == ("<!here> `x` <https://e.test|click>",)


def test_text_over_the_cap_is_cut_and_says_so() -> None:
    book = parse_runbook("# Big\n## Incident: Late\n" + "x" * MAX_TEXT)
    assert book.truncated and book.title == "Big"
    assert not parse_runbook("# Small\n").truncated


@pytest.mark.parametrize(
    "line",
    [
        "[" * MAX_TEXT,
        "1" * MAX_TEXT,
        "**" + "a " * (MAX_TEXT // 2),
        "@" * MAX_TEXT,
        "| " * (MAX_TEXT // 2),
        "1. **L1 - " + "9 " * (MAX_TEXT // 2),
        "- **Dashboard**: " + "[a](https://" * (MAX_TEXT // 12),
        "https://" + "h" * MAX_TEXT,
    ],
    ids=["brackets", "digits", "bold", "ats", "pipes", "levels", "links", "url"],
)
def test_adversarial_line_is_read_in_linear_time(line: str) -> None:
    # Quadratic work on a 1 MB line would take minutes; these finish in well under a second each.
    text = (
        "# T\n## Dashboards\n## Escalation Path\n## Quick Reference\n## Incident: X\n### Diagnosis\n" + line
    )
    assert parse_runbook(text).title == "T"


@pytest.mark.parametrize(
    ("unit", "modes"),
    [
        ("# Incident: x\n", "all"),
        ("# dashboard\n", "none"),
        ("## Incident: a\n### Symptoms\n", "all"),
        ("| a | P0 | 5 m | RB-1 |\n", "one"),
    ],
)
def test_many_short_lines_are_read_in_linear_time(unit: str, modes: str) -> None:
    # Each heading's section is found once, and table rows are matched by key, not against every mode.
    count = (MAX_TEXT - 100) // len(unit)
    book = parse_runbook("## Quick Reference\n" + unit * count)
    assert not book.truncated
    assert len(book.failure_modes) == {"all": count, "none": 0, "one": 1}[modes]


SEED_EXPECTATIONS = {
    "000_": (["[Runbook Title]"], [1, 2, 3]),
    "001_": (
        [
            "Service Down",
            "High Error Rate",
            "Circuit Breaker Open",
            "Slow Queries",
            "Database Pool Exhausted",
        ],
        [],
    ),
    "002_": (
        [
            "Service Down / 502 Errors",
            "Database Connection Pool Exhausted",
            "Redis Cache Down",
            "High Error Rate",
            "Memory Leak / OOM",
        ],
        [],
    ),
    "003_": (["High Latency", "Service Unavailable", "Database Connection Errors"], [1, 2, 3, 4]),
}


@pytest.mark.parametrize("prefix", sorted(SEED_EXPECTATIONS))
def test_the_runbooks_the_project_comes_from(prefix: str) -> None:
    found = sorted(SEEDS.glob(f"{prefix}*.txt")) if SEEDS.is_dir() else []
    if not found:
        pytest.skip(f"no {prefix}*.txt in {SEEDS} (the source runbooks are not checked out here)")
    book = parse_runbook(found[0].read_text(encoding="utf-8", errors="replace"))
    names, levels = SEED_EXPECTATIONS[prefix]
    assert [m.name for m in book.failure_modes] == names
    assert [level.level for level in book.escalation] == levels
    assert all(m.steps for m in book.failure_modes)
