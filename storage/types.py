"""Column types shared by the models."""

from datetime import UTC, datetime

from sqlalchemy import DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from domain.severity import Severity


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SeverityType(TypeDecorator[Severity]):
    """A severity stored as its name (`SEV2`) and read back as `Severity`."""

    impl = String(8)
    cache_ok = True

    def process_bind_param(self, value: Severity | str | None, dialect: Dialect) -> str | None:
        return None if value is None else Severity(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> Severity | None:
        return None if value is None else Severity(value)
