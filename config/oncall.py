"""On-call schedules in the policy file: rotations or calendars, fallbacks, and how often to refresh."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from config.fields import Duration, OptionalDuration, Strict
from config.integrations import check_url
from domain.oncall import WEEKDAYS, Restriction, Rotation, parse_restriction
from domain.severity import Severity

_HOURS = re.compile(r"^\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*$")


class Restrict(Strict):
    """On call only on these weekdays, between these local hours (`"09:00-17:00"`; overnight allowed)."""

    days: tuple[str, ...] = WEEKDAYS
    hours: str | None = None

    @field_validator("days")
    @classmethod
    def _days(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        out = tuple(d.strip().lower()[:3] for d in value)
        bad = [d for d in out if d not in WEEKDAYS]
        if bad or not out:
            raise ValueError(f"days must be among {', '.join(WEEKDAYS)}")
        return out

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not _HOURS.match(value):
            raise ValueError('hours must look like "09:00-17:00"')
        first, _, last = value.partition("-")
        time.fromisoformat(first.strip().zfill(5))
        time.fromisoformat(last.strip().zfill(5))
        return value

    def restriction(self) -> Restriction:
        """As the schedule computation takes it."""
        hours = None
        if self.hours:
            first, _, last = self.hours.partition("-")
            hours = f"{first.strip().zfill(5)}-{last.strip().zfill(5)}"
        return parse_restriction(self.days, hours)


def _local_datetime(value: Any) -> Any:
    if isinstance(value, str):
        return datetime.fromisoformat(value.strip().replace(" ", "T"))
    return value


class Schedule(Strict):
    """One schedule: a rotation (`users`, `shift`, `handoff`) or a calendar (`ical_url` or `ical_file`)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    timezone: str = "UTC"
    users: tuple[str, ...] = ()
    shift: Duration | None = None
    handoff: datetime | None = None  # local, in `timezone`
    restrict: Restrict | None = None
    ical_url: str | None = None
    ical_file: str | None = None
    fallback: tuple[str, ...] = ()
    usergroup: str | None = Field(default=None, pattern=r"^S[A-Z0-9]+$")
    remind_before: OptionalDuration = None

    _check_url = field_validator("ical_url")(classmethod(lambda cls, v: v if v is None else check_url(v)))

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r} (e.g. Europe/Berlin)") from None
        return value

    @field_validator("handoff", mode="before")
    @classmethod
    def _handoff(cls, value: Any) -> Any:
        value = _local_datetime(value)
        if isinstance(value, datetime) and value.tzinfo is not None:
            raise ValueError("handoff is a local date-time in the schedule's time zone, without an offset")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> Schedule:
        rotation = bool(self.users or self.shift or self.handoff)
        sources = [rotation, bool(self.ical_url), bool(self.ical_file)]
        if sum(sources) != 1:
            raise ValueError("give either a rotation (users, shift, handoff) or ical_url or ical_file")
        given = {"users": self.users, "shift": self.shift, "handoff": self.handoff}
        missing = [key for key, value in given.items() if rotation and value in ((), None)]
        if missing:
            which = " and ".join(missing) + (" are" if len(missing) > 1 else " is")
            raise ValueError(f"a rotation needs users, shift and handoff: {which} missing")
        if self.shift is not None and self.shift <= timedelta(0):
            raise ValueError("shift must be longer than 0s")
        if self.restrict and not rotation:
            raise ValueError("restrict applies to rotations only")
        return self

    @property
    def tz(self) -> ZoneInfo:
        """The schedule's time zone."""
        return ZoneInfo(self.timezone)

    def rotation(self) -> Rotation | None:
        """The rotation, for a rotation schedule."""
        if not self.users or self.shift is None or self.handoff is None:
            return None
        restrict = self.restrict.restriction() if self.restrict else None
        return Rotation(self.users, self.shift, self.handoff, self.tz, restrict)


class OnCall(Strict):
    """How often calendars given by URL are fetched again."""

    refresh: Duration = timedelta(minutes=10)


class AckTimeout(Strict):
    """Time to acknowledge per severity (the runbooks): a level with `after = "ack_timeout"` falls
    due then, and is skipped when the incident was acknowledged before."""

    sev1: Duration = timedelta(minutes=5)
    sev2: Duration = timedelta(minutes=15)
    sev3: Duration = timedelta(hours=1)
    sev4: Duration = timedelta(hours=24)

    def of(self, severity: Severity) -> timedelta:
        """The time to acknowledge of a severity."""
        return getattr(self, severity.key)  # type: ignore[no-any-return]
