"""Severity levels and status stages from the incident runbooks."""

from __future__ import annotations

import re
from enum import Enum, StrEnum


class Severity(StrEnum):
    """SEV1 (worst) to SEV4; P0–P3 are aliases."""

    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"
    SEV4 = "SEV4"

    @property
    def rank(self) -> int:
        """1 for SEV1 … 4 for SEV4."""
        return int(self.value[-1])

    @property
    def key(self) -> str:
        """Lower-case config key: `sev1`."""
        return self.value.lower()

    @property
    def label(self) -> str:
        """Short runbook name of the level."""
        return _LABELS[self][0]

    @property
    def description(self) -> str:
        """What the level means, from the runbooks."""
        return _LABELS[self][1]

    @property
    def emoji(self) -> str:
        """Slack emoji code that shows the level at a glance."""
        return _LABELS[self][2]

    @classmethod
    def parse(cls, text: str) -> Severity | None:
        """Accept sev1..sev4, SEV-2, `sev 3`, P0..P3 (P0 = SEV1); None when not a severity."""
        m = _PATTERN.fullmatch(text.strip().lower())
        if not m:
            return None
        if m.group("sev"):
            return cls(f"SEV{m.group('sev')}")
        return cls(f"SEV{int(m.group('p')) + 1}")


_PATTERN = re.compile(r"sev[-_ ]?(?P<sev>[1-4])|p(?P<p>[0-3])")
VALID_SEVERITIES = "sev1, sev2, sev3, sev4 (or P0–P3)"

_LABELS = {
    Severity.SEV1: ("Critical", "Complete outage, data loss or security breach", ":red_circle:"),
    Severity.SEV2: ("Major", "Major functionality degraded for many users", ":large_orange_circle:"),
    Severity.SEV3: ("Minor", "Partial degradation; a workaround exists", ":large_yellow_circle:"),
    Severity.SEV4: ("Low", "Minor or cosmetic issue, little user impact", ":large_blue_circle:"),
}


class Status(Enum):
    """Stages an incident moves through."""

    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MITIGATING = "mitigating"
    MONITORING = "monitoring"
    RESOLVED = "resolved"

    @property
    def label(self) -> str:
        """Capitalised name for people."""
        return self.value.capitalize()

    @property
    def emoji(self) -> str:
        """Slack emoji code for the stage."""
        return _STATUS_EMOJI[self]


UPDATE_STATUSES = (Status.INVESTIGATING, Status.IDENTIFIED, Status.MITIGATING, Status.MONITORING)

_STATUS_EMOJI = {
    Status.INVESTIGATING: ":mag:",
    Status.IDENTIFIED: ":dart:",
    Status.MITIGATING: ":hammer_and_wrench:",
    Status.MONITORING: ":eyes:",
    Status.RESOLVED: ":white_check_mark:",
}
