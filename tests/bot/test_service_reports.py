"""Services in `incident-bot stats --by service` and in `incident-bot export`, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.harness import LEVELS, Harness, team, timed_incident
from tests.processes import run_cli

TESTS = Path(__file__).parents[1]
SERVICES = [
    {"name": "cache", "runbook": str(TESTS / "services" / "runbooks" / "cache.md")},
    {"name": "search", "runbook": str(TESTS / "domain" / "runbooks" / "search_service.md")},
    {"name": "billing", "runbook": str(TESTS / "domain" / "runbooks" / "platform_guide.md")},
]


@pytest.fixture
def policy_data() -> dict:
    return {**LEVELS, "services": SERVICES}


def services_team(h: Harness) -> None:
    """The escalation's people, and the user group the cache runbook's L2 names."""
    team(h)
    h.emu.add_usergroup("cache-leads", ["U0LEAD"], group_id="S0CACHELEADS")


async def _cli(h: Harness, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    """`incident-bot <args>` on the harness's database, with a policy file naming the same services."""
    policy = tmp_path / "policy.toml"
    policy.write_text(
        'announce_channel = "C0INCIDENTS"\n'
        + "".join(f'\n[[services]]\nname = "{s["name"]}"\nrunbook = "{s["runbook"]}"\n' for s in SERVICES)
    )
    return await run_cli(h.database_url, policy, *args)


async def test_stats_by_service_counts_mtta_and_mttr_per_service(harness: Harness, tmp_path: Path) -> None:
    h = harness
    services_team(h)
    await timed_incident(h, "--service cache sev2 Evictions everywhere", 2, 30)
    await timed_incident(h, "--service cache sev1 Cache is down", 6, 50)
    await timed_incident(h, "sev3 Nobody's service", None, 10)
    await timed_incident(h, "--service search sev2 Search is slow", None, None)

    code, out, err = await _cli(
        h, tmp_path, "stats", "--since", "3650d", "--by", "service", "--format", "json"
    )
    assert (code, err) == (0, "")
    data = json.loads(out)
    rows = data["by_service"]
    assert list(rows) == ["billing", "cache", "search", "(none)"], "the policy's services by name, then none"
    cache = rows["cache"]
    assert (cache["declared"], cache["open"], cache["resolved"]) == (2, 0, 2)
    assert (cache["mtta_p50"], cache["mtta_p90"]) == (240, 336)
    assert (cache["mttr_p50"], cache["mttr_p90"]) == (2400, 2880)
    assert (rows["search"]["declared"], rows["search"]["open"], rows["search"]["mtta_p50"]) == (1, 1, None)
    assert (rows["(none)"]["declared"], rows["(none)"]["mttr_p50"]) == (1, 600)
    assert rows["billing"]["declared"] == 0
    assert data["all"]["declared"] == 4 and "by_severity" not in data

    code, table, _ = await _cli(h, tmp_path, "stats", "--since", "3650d", "--by", "service")
    lines = table.splitlines()
    assert code == 0 and lines[2].split()[:2] == ["Service", "Declared"]
    assert [line.split()[0] for line in lines[3:8]] == ["billing", "cache", "search", "(none)", "All"]
    assert lines[4].split() == ["cache", "2", "0", "2", "4m", "5m", "40m", "48m"]

    code, default, _ = await _cli(h, tmp_path, "stats", "--since", "3650d", "--format", "json")
    assert code == 0 and "by_service" not in json.loads(default)
    assert list(json.loads(default)["by_severity"]) == ["SEV1", "SEV2", "SEV3", "SEV4"], "as before"


async def test_stats_refuses_an_unknown_grouping(harness: Harness, tmp_path: Path) -> None:
    code, _, err = await _cli(harness, tmp_path, "stats", "--by", "team")
    assert code == 2 and "argument --by: invalid choice: 'team'" in err


async def test_export_names_the_service_in_markdown_and_json(harness: Harness, tmp_path: Path) -> None:
    h = harness
    services_team(h)
    await timed_incident(h, "--service cache sev2 Evictions everywhere", 2, 30)
    await timed_incident(h, "sev3 Nobody's service", None, 10)

    code, md, err = await _cli(h, tmp_path, "export", "INC-1")
    assert (code, err) == (0, "")
    header = md.split("## Incident team", 1)[0]
    assert "| **Status** | Resolved |\n| **Service** | cache |\n" in header
    code, out, _ = await _cli(h, tmp_path, "export", "INC-1", "--format", "json")
    assert code == 0 and json.loads(out)["service"] == "cache"

    code, md, _ = await _cli(h, tmp_path, "export", "INC-2")
    assert code == 0 and "**Service**" not in md, "no service, no line (the golden draft is unchanged)"
    code, out, _ = await _cli(h, tmp_path, "export", "INC-2", "--format", "json")
    assert code == 0 and json.loads(out)["service"] is None
