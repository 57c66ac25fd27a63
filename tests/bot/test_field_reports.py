"""Custom fields in `incident-bot stats --by field:<name>` and in `incident-bot export`, as a user runs
them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from storage.people import PeopleRepo
from tests.field_values import FIELDS, set_fields
from tests.harness import LEVELS, Harness, team, timed_incident
from tests.processes import run_cli


@pytest.fixture
def policy_data() -> dict:
    return {**LEVELS, "fields": FIELDS}


def _toml(value: object) -> str:
    return json.dumps(value)  # a JSON string or list of strings is TOML too


async def _cli(h: Harness, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    """`incident-bot <args>` on the harness's database, with a policy file holding the same fields."""
    policy = tmp_path / "policy.toml"
    fields = "".join("\n[[fields]]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in f.items()) for f in FIELDS)
    policy.write_text('announce_channel = "C0INCIDENTS"\n' + fields)
    return await run_cli(h.database_url, policy, *args)


async def _four_incidents(h: Harness) -> None:
    team(h)
    await timed_incident(h, "sev2 Carts empty", 2, 30)
    await set_fields(h, 1, region="EU", products=["Cart", "Pay"], liaison="U0BOB", seats=12.0)
    await timed_incident(h, "sev1 Carts gone", 6, 50)
    await set_fields(h, 2, region="EU", products=["Cart"], liaison="U0BOB", seats=3.5)
    await timed_incident(h, "sev3 Nobody knows where", None, 10)
    await timed_incident(h, "sev2 Payments slow", None, None)
    await set_fields(h, 4, region="US", products=["Pay"], liaison="U0CAROL")
    async with h.bot.shared.db.session() as s:
        await PeopleRepo(s, h.driver.team).remember("U0BOB", "Bob Lead")


async def test_stats_by_a_select_field(harness: Harness, tmp_path: Path) -> None:
    h = harness
    await _four_incidents(h)

    code, out, err = await _cli(
        h, tmp_path, "stats", "--since", "3650d", "--by", "field:region", "--format", "json"
    )
    assert (code, err) == (0, "")
    data = json.loads(out)
    rows = data["by_field:region"]
    assert list(rows) == ["EU", "US", "APAC", "(none)"], "the options in the policy's order, then unset"
    eu = rows["EU"]
    assert (eu["declared"], eu["open"], eu["resolved"]) == (2, 0, 2)
    assert (eu["mtta_p50"], eu["mtta_p90"]) == (240, 336)
    assert (eu["mttr_p50"], eu["mttr_p90"]) == (2400, 2880)
    assert (rows["US"]["declared"], rows["US"]["open"], rows["US"]["mttr_p50"]) == (1, 1, None)
    assert (rows["(none)"]["declared"], rows["(none)"]["mttr_p50"]) == (1, 600)
    assert rows["APAC"]["declared"] == 0
    assert data["all"]["declared"] == 4 and "by_severity" not in data

    code, table, _ = await _cli(h, tmp_path, "stats", "--since", "3650d", "--by", "field:region")
    lines = table.splitlines()
    assert code == 0 and lines[2].split()[:2] == ["Region", "Declared"], "the field's label heads the rows"
    assert [line.split()[0] for line in lines[3:8]] == ["EU", "US", "APAC", "(none)", "All"]
    assert lines[3].split() == ["EU", "2", "0", "2", "4m", "5m", "40m", "48m"]


async def test_stats_by_a_multi_select_user_or_number_field(harness: Harness, tmp_path: Path) -> None:
    h = harness
    await _four_incidents(h)

    code, out, _ = await _cli(
        h, tmp_path, "stats", "--since", "3650d", "--by", "field:products", "--format", "json"
    )
    rows = json.loads(out)["by_field:products"]
    assert code == 0 and list(rows) == ["Cart", "Pay", "(none)"]
    assert [rows[k]["declared"] for k in rows] == [2, 2, 1], "an incident counts under each of its values"
    assert rows["Pay"]["mttr_p50"] == 1800 and json.loads(out)["all"]["declared"] == 4

    code, out, _ = await _cli(
        h, tmp_path, "stats", "--since", "3650d", "--by", "field:liaison", "--format", "json"
    )
    rows = json.loads(out)["by_field:liaison"]
    assert code == 0 and {k: v["declared"] for k, v in rows.items()} == {
        "Bob Lead": 2,
        "U0CAROL": 1,
        "(none)": 1,
    }

    code, table, _ = await _cli(h, tmp_path, "stats", "--since", "3650d", "--by", "field:seats")
    rows_named = [line.split()[0] for line in table.splitlines()[3:7]]
    assert code == 0 and rows_named == ["3.5", "12", "(none)", "All"], "numbers in order"


async def test_stats_refuses_an_unknown_field_with_the_list(harness: Harness, tmp_path: Path) -> None:
    code, out, err = await _cli(harness, tmp_path, "stats", "--by", "field:regoin")
    assert (code, out) == (2, "")
    assert err.strip() == (
        "incident-bot: stats --by field:regoin: no field 'regoin' (did you mean region?); "
        "fields: region, products, customer, seats, liaison, ticket"
    )
    code, _, err = await _cli(harness, tmp_path, "stats", "--by", "field:")
    assert code == 2 and "argument --by: invalid choice: 'field:'" in err


async def test_export_has_every_field_in_markdown_and_json(harness: Harness, tmp_path: Path) -> None:
    h = harness
    await _four_incidents(h)
    await set_fields(h, 1, customer="Globex <!channel> | *x*", ticket="https://tickets.example.com/T-9")

    code, md, err = await _cli(h, tmp_path, "export", "INC-1")
    assert (code, err) == (0, "")
    header = md.split("## Incident team", 1)[0]
    assert "| **Status** | Resolved |\n\n**Fields**\n\n| Field | Value |\n| --- | --- |\n" in header
    part = header.split("| Field | Value |\n| --- | --- |\n", 1)[1].strip().splitlines()
    assert part == [
        "| Region | EU |",
        "| Affected products | Cart, Pay |",
        "| Customer | Globex &lt;!channel&gt; \\| \\*x\\* |",
        "| Seats affected | 12 |",
        "| Customer liaison | Bob Lead |",
        "| Ticket | [https://tickets.example.com/T-9](https://tickets.example.com/T-9) |",
    ], "each configured field in the policy's order; people by name; what people wrote inert"

    code, out, _ = await _cli(h, tmp_path, "export", "INC-1", "--format", "json")
    assert code == 0 and json.loads(out)["fields"] == {
        "region": "EU",
        "products": ["Cart", "Pay"],
        "customer": "Globex <!channel> | *x*",
        "seats": 12,
        "liaison": {"id": "U0BOB", "name": "Bob Lead"},
        "ticket": "https://tickets.example.com/T-9",
    }

    code, md, _ = await _cli(h, tmp_path, "export", "INC-3")
    rows = md.split("| Field | Value |\n| --- | --- |\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert code == 0 and len(rows) == 6 and all(r.endswith("| _not set_ |") for r in rows)
    code, out, _ = await _cli(h, tmp_path, "export", "INC-3", "--format", "json")
    assert code == 0 and json.loads(out)["fields"] == dict.fromkeys(
        ["region", "products", "customer", "seats", "liaison", "ticket"]
    )
