"""The declarative base all tables are written against (Alembic too)."""

from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base; Alembic migrations are written against this metadata."""
