"""`[[announce]]` in the policy file: more channels an incident's announcement goes to, by condition."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from config.fields import Strict
from domain.severity import VALID_SEVERITIES, Severity

# A channel as Slack names it (`#payments-incidents`) or its ID.
CHANNEL = r"^(#[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{2,31})$"


def _severity(value: Any) -> Severity:
    severity = Severity.parse(str(value))
    if severity is None:
        raise ValueError(f"unknown severity {value!r} (use {VALID_SEVERITIES})")
    return severity


def _listed(value: Any) -> Any:
    # `severity = "sev1"` is read as the list it means.
    return [value] if isinstance(value, str) else value


Severities = Annotated[tuple[Annotated[Severity, BeforeValidator(_severity)], ...], BeforeValidator(_listed)]
Names = Annotated[tuple[Annotated[str, Field(min_length=1, max_length=40)], ...], BeforeValidator(_listed)]


class AnnounceRule(Strict):
    """Announce in `channel` too when every condition given holds: the severity is one of `severity`,
    the incident's service one of `service` (names of `[[services]]`). Never for private incidents."""

    channel: str = Field(pattern=CHANNEL)
    severity: Severities | None = Field(default=None, min_length=1)
    service: Names | None = Field(default=None, min_length=1)

    def matches(self, severity: Severity, service: str | None) -> bool:
        """Whether an incident of `severity` and `service` is announced in this rule's channel."""
        if self.severity is not None and severity not in self.severity:
            return False
        return self.service is None or service in self.service


def channels_for(
    main: str, rules: tuple[AnnounceRule, ...], severity: Severity, service: str | None, private: bool
) -> list[str]:
    """Where an incident is announced: `main` (the announce channel), then each matching rule's channel
    once; a private incident only in `main`."""
    out = [main]
    for rule in () if private else rules:
        if rule.channel not in out and rule.matches(severity, service):
            out.append(rule.channel)
    return out


def unknown_service(rules: tuple[AnnounceRule, ...], services: list[str]) -> str | None:
    """The first rule naming a service `services` does not hold, as an error text (None when none does)."""
    for i, rule in enumerate(rules):
        for name in rule.service or ():
            if name not in services:
                known = ", ".join(services) or "none defined"
                return f"announce[{i}].service names unknown service {name!r} ([[services]]: {known})"
    return None
