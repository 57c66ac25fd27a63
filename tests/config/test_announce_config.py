"""`[[announce]]`: more channels for the announcement, by severity and service; mistakes named by key."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from config.announce import channels_for
from config.errors import ConfigError
from config.policy_file import policy_from_dict
from domain.severity import Severity

RUNBOOK = str(Path(__file__).parents[1] / "services" / "runbooks" / "cache.md")
SERVICES = {"services": [{"name": "cache", "runbook": RUNBOOK}, {"name": "search", "runbook": RUNBOOK}]}


def test_rules_are_read_and_matched_by_every_condition_given() -> None:
    policy = policy_from_dict(
        {
            **SERVICES,
            "announce_channel": "#incidents",
            "announce": [
                {"channel": "#exec", "severity": ["sev1", "P1"]},
                {"channel": "#cache-team", "service": ["cache"]},
                {"channel": "C0CACHEEXEC", "severity": "sev1", "service": ["cache"]},
                {"channel": "#incidents", "severity": ["sev1"]},
            ],
        }
    )
    rules = policy.announce
    assert rules[0].severity == (Severity.SEV1, Severity.SEV2)
    assert rules[2].severity == (Severity.SEV1,)

    def where(sev: Severity, service: str | None, private: bool = False) -> list[str]:
        return channels_for(policy.announce_channel, rules, sev, service, private)

    assert where(Severity.SEV3, None) == ["#incidents"]
    assert where(Severity.SEV2, None) == ["#incidents", "#exec"]
    assert where(Severity.SEV3, "cache") == ["#incidents", "#cache-team"]
    assert where(Severity.SEV1, "cache") == ["#incidents", "#exec", "#cache-team", "C0CACHEEXEC"]
    assert where(Severity.SEV1, "search") == ["#incidents", "#exec"]
    assert where(Severity.SEV1, "cache", private=True) == ["#incidents"], "never for private incidents"


def test_no_rules_by_default() -> None:
    assert policy_from_dict({}).announce == ()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"announce": [{"chanel": "#exec"}]}, "announce[0].chanel: unknown key; did you mean `channel`?"),
        (
            {"announce": [{"channel": "#exec", "severity": ["sev1"], "services": ["cache"]}]},
            "announce[0].services: unknown key; did you mean `service`?",
        ),
        ({"announce": [{"severity": ["sev1"]}]}, "announce[0].channel: Field required"),
        ({"announce": [{"channel": "exec team"}]}, "announce[0].channel: String should match pattern"),
        (
            {"announce": [{"channel": "#exec", "severity": ["sev5"]}]},
            "announce[0].severity[0]: unknown severity",
        ),
        (
            {"announce": [{"channel": "#exec", "severity": []}]},
            "announce[0].severity: Value should have at least 1 item",
        ),
        (
            {**SERVICES, "announce": [{"channel": "#exec"}, {"channel": "#db", "service": ["cahce"]}]},
            "announce[1].service names unknown service 'cahce' ([[services]]: cache, search)",
        ),
        (
            {"announce": [{"channel": "#db", "service": ["cache"]}]},
            "announce[0].service names unknown service 'cache' ([[services]]: none defined)",
        ),
    ],
)
def test_a_bad_rule_names_its_key(data: dict, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        policy_from_dict(data)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_a_workspace_table_checks_its_own_services() -> None:
    with pytest.raises(ConfigError) as info:
        policy_from_dict(
            {
                **SERVICES,
                "workspaces": {
                    "T0TWO": {"services": [], "announce": [{"channel": "#x", "service": "cache"}]}
                },
            }
        )
    assert "workspaces.T0TWO" in str(info.value) and "unknown service 'cache'" in str(info.value)


ROOT = Path(__file__).resolve().parents[2]


def _uncommented(text: str, start: str) -> str:
    """The commented block of the example policy starting at `start`, as it reads uncommented."""
    lines = text.splitlines()
    i = lines.index(start)
    block = []
    while i < len(lines) and lines[i].startswith("#"):
        block.append(lines[i].removeprefix("#").removeprefix(" "))
        i += 1
    return "\n".join(block)


def test_the_examples_rules_are_valid() -> None:
    example = (ROOT / "incident-bot.example.toml").read_text()
    services = _uncommented(example, "# [[services]]")
    rules = _uncommented(example, "# [[announce]]")
    data = tomllib.loads(services + "\n" + rules)
    policy = policy_from_dict({**data, "services": [{**s, "schedule": None} for s in data["services"]]})
    assert [r.channel for r in policy.announce] == ["#exec-incidents", "#payments-eng"]
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("### Announcements") :]
    snippet = section[section.index("```toml") + 7 : section.index("```\n", section.index("```toml") + 7)]
    names = [{"name": n, "runbook": RUNBOOK} for n in ("checkout", "payments")]
    policy = policy_from_dict({**tomllib.loads(snippet), "services": names})
    assert policy.announce[1].service == ("checkout", "payments")
