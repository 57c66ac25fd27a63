"""A custom field's value: read from what a person typed, checked against its type, shown as words."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal, Protocol

from domain.spelling import closest
from domain.urls import safe_url

FieldType = Literal["select", "multi_select", "text", "number", "user", "link"]
FIELD_TYPES: tuple[str, ...] = ("select", "multi_select", "text", "number", "user", "link")
MAX_TEXT = 500
Value = str | float | list[str]
_USER = re.compile(r"^<@([UW][A-Z0-9]{2,30})(?:\|[^<>]*)?>$")


class FieldValueError(ValueError):
    """A value the field does not take; the message says what it takes."""


def parse(kind: str, options: tuple[str, ...], raw: str) -> Value:
    """The value of a field of type `kind` from text; FieldValueError saying why not."""
    text = raw.strip()
    if not text:
        raise FieldValueError("Give a value.")
    if kind == "select":
        return _option(options, text)
    if kind == "multi_select":
        return [_option(options, part.strip()) for part in text.split(",") if part.strip()]
    if kind == "number":
        try:
            number = float(text.replace(",", ""))
        except ValueError:
            raise FieldValueError(f"`{text[:40]}` is not a number.") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise FieldValueError("Give a finite number.")
        return number
    if kind == "user":
        m = _USER.match(text)
        if not m:
            raise FieldValueError("Name a person: `@someone`.")
        return m.group(1)
    if kind == "link":
        if not safe_url(text) or len(text) > 2000:
            raise FieldValueError("Give an http(s) link.")
        return text
    if len(text) > MAX_TEXT:
        raise FieldValueError(f"Keep it under {MAX_TEXT} characters.")
    return text


def _option(options: tuple[str, ...], text: str) -> str:
    for option in options:
        if option.lower() == text.lower():
            return option
    near = closest(text, options)
    guess = f" Did you mean `{near}`?" if near else ""
    listed = ", ".join(f"`{o}`" for o in options)
    raise FieldValueError(f"`{text[:75]}` is not an option.{guess} Options: {listed}.")


def shown(kind: str, value: Value | None) -> str | None:
    """The value as words (a user as their id: callers name or mention them); None when unset."""
    if value is None or value == []:
        return None
    if isinstance(value, list):
        return ", ".join(value)
    if kind == "number" and isinstance(value, float):
        return f"{value:g}" if abs(value) < 1e15 else str(value)
    return str(value)


class Spec(Protocol):
    """What reading a value needs of a `[[fields]]` entry."""

    @property
    def name(self) -> str: ...

    @property
    def type(self) -> str: ...


def plain(kind: str, value: Value | None) -> str | int | float | list[str] | None:
    """The value as JSON carries it: none when unset, a whole number as an integer."""
    if value is None or value == []:
        return None
    if kind == "number" and isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def plain_all(specs: Iterable[Spec], values: Mapping[str, Value]) -> dict[str, Any]:
    """Every configured field by name, as JSON carries it (unset ones none)."""
    return {spec.name: plain(spec.type, values.get(spec.name)) for spec in specs}
