"""`[[services]]` in the policy file: a service, its runbook (file or URL), and what the TOML overrides."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator

from config.fields import Strict
from config.integrations import check_url

_HANDLE = re.compile(r"^@?[A-Za-z0-9][\w.-]{0,80}$")
_LABEL = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_LOOPBACK = re.compile(r"^http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?/")


class DashboardLink(Strict):
    """A dashboard: a name and its link."""

    name: str = Field(min_length=1, max_length=200)
    url: str

    _check_url = field_validator("url")(classmethod(lambda cls, v: check_url(v)))


def _dashboard(value: Any) -> Any:
    # A bare URL is a dashboard named by its link.
    return {"name": value, "url": value} if isinstance(value, str) else value


def _handle(value: str) -> str:
    value = value.strip()
    if not _HANDLE.match(value):
        raise ValueError(f"not a Slack user group handle: {value!r} (like @dba-team)")
    return value if value.startswith("@") else "@" + value


class ServiceEntry(Strict):
    """One service: `name` (the slug commands use) and its `runbook` (a Markdown file relative to the
    policy file, or an https:// URL). The other keys override what the runbook states."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    runbook: str = Field(min_length=1, max_length=2000)
    schedule: str | None = None
    owner: str | None = None
    dashboards: tuple[DashboardLink, ...] | None = None
    experts: dict[str, str] | None = None
    alerts: dict[str, str] = Field(default_factory=dict)

    @field_validator("runbook")
    @classmethod
    def _runbook(cls, value: str) -> str:
        if "://" in value:
            check_url(value)
            if not value.startswith("https://") and not _LOOPBACK.match(value):
                raise ValueError("a runbook URL must be https:// (http:// only on this machine)")
        return value

    @field_validator("owner")
    @classmethod
    def _owner(cls, value: str | None) -> str | None:
        return None if value is None else _handle(value)

    @field_validator("dashboards", mode="before")
    @classmethod
    def _dashboards(cls, value: Any) -> Any:
        return [_dashboard(v) for v in value] if isinstance(value, list | tuple) else value

    @field_validator("experts")
    @classmethod
    def _experts(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        return {area.strip().lower(): _handle(handle) for area, handle in value.items()}

    @field_validator("alerts")
    @classmethod
    def _alerts(cls, value: dict[str, str]) -> dict[str, str]:
        bad = [k for k in value if not _LABEL.match(k)]
        if bad:
            raise ValueError(f"not an Alertmanager label name: {bad[0]!r}")
        return value

    @property
    def is_url(self) -> bool:
        """Whether the runbook is fetched (else read from a file)."""
        return "://" in self.runbook
