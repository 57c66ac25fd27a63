"""The shell's forms: show, fill in and submit the modal the bot opened for the current user."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_emulator import SlackDriver, Workspace
from slack_emulator.models import View
from slack_emulator.render import text_of

HINT = "(a form: `form` shows it, `fill <field> <value>` fills it in, then `submit`, or `cancel`)"
_SINGLE = ("static_select", "external_select", "radio_buttons")
_MULTI = ("multi_static_select", "multi_external_select", "checkboxes")
_USERS = ("users_select", "multi_users_select")
_CHANNELS = (
    "conversations_select",
    "channels_select",
    "multi_conversations_select",
    "multi_channels_select",
)


class FormError(ValueError):
    """A form that cannot be filled in or submitted that way: shown as a one-line hint."""


@dataclass(frozen=True)
class Field:
    """One input block of a form."""

    number: int
    block_id: str
    label: str
    element: dict[str, Any]
    optional: bool

    @property
    def kind(self) -> str:
        """The element type (plain_text_input, static_select, …)."""
        return str(self.element.get("type", ""))

    def options(self) -> list[dict[str, Any]]:
        """The choices of a select, radio buttons or checkboxes."""
        groups = [o for g in self.element.get("option_groups") or [] for o in g.get("options") or []]
        return [*(self.element.get("options") or []), *groups]

    def names(self) -> set[str]:
        """What `fill` accepts for this field: number, block id, label."""
        label = self.label.lower()
        return {
            str(self.number),
            self.block_id.lower(),
            label,
            label.replace(" ", "-"),
            label.replace(" ", "_"),
        }


class Forms:
    """What each user has typed into their open modal so far; Slack keeps it client-side, so do we."""

    def __init__(
        self,
        ws: Callable[[], Workspace],
        driver: Callable[[], SlackDriver],
        user_id: Callable[[str], str],
        channel_id: Callable[[str], str],
    ) -> None:
        self._ws, self._driver = ws, driver
        self._user_id, self._channel_id = user_id, channel_id
        self._filled: dict[str, dict[str, Any]] = {}  # view id → block id → value

    def current(self, user: str) -> View:
        """The form on top of the user's modal stack."""
        stack = self._ws().open_views(user)
        if not stack:
            raise FormError(f"@{self._ws().user_name(user)} has no form open")
        return stack[-1]

    def show(self, user: str) -> list[str]:
        """The form's title and each field with what is filled in."""
        v = self.current(user)
        filled = self._filled.get(v.id, {})
        submit = text_of(v.view.get("submit")) or "Submit"
        lines = [f"{_title(v)} (form for @{self._ws().user_name(user)}; `submit` presses [{submit}])"]
        for f in fields(v):
            value = filled.get(f.block_id)
            shown = self._shown(f, value) if value not in (None, "", []) else "—"
            need = " (optional)" if f.optional else ""
            lines.append(f"  {f.block_id:<12} {f.label}{need}: {shown}")
            if f.options():
                choices = ", ".join(str(o.get("value")) for o in f.options())
                lines.append(f"  {'':<12} choices: {choices}")
            elif value in (None, "", []) and isinstance(f.element.get("placeholder"), dict):
                lines.append(f"  {'':<12} e.g. {text_of(f.element['placeholder'])}")
        return lines

    def fill(self, user: str, args: str) -> str:
        """`fill <field> <value>`: remember a value for one field; returns what was set."""
        name, _, value = args.strip().partition(" ")
        if not name:
            raise FormError("usage: fill <field> <value> (`form` lists the fields)")
        v = self.current(user)
        field = _field(v, name)
        converted = self._convert(field, value.strip())
        self._filled.setdefault(v.id, {})[field.block_id] = converted
        shown = self._shown(field, converted) if converted not in (None, "", []) else "—"
        return f"({field.label}: {shown})"

    async def submit(self, user: str) -> list[str]:
        """Submit the form as the user; returns the bot's complaints, one line per field (or none)."""
        v = self.current(user)
        filled = self._filled.get(v.id, {})
        missing = [f.label for f in fields(v) if not f.optional and filled.get(f.block_id) in (None, "", [])]
        if missing:
            verb = "is" if len(missing) == 1 else "are"
            raise FormError(f"{' and '.join(missing)} {verb} required; `fill <field> <value>` first")
        answer = await self._driver().submit_view(user, v.id, filled)
        if answer.get("response_action") == "errors":
            labels = {f.block_id: f.label for f in fields(v)}
            errors = answer.get("errors") or {}
            return [f"{labels.get(block, block)}: {problem}" for block, problem in errors.items()]
        self._forget()
        return []

    def cancel(self, user: str) -> str:
        """Close the user's forms, as Cancel does (the bot's forms do not ask to hear about it)."""
        v = self.current(user)
        for open_view in self._ws().open_views(user):
            open_view.closed = True
        self._forget()
        return f"(closed {_title(v)})"

    def _forget(self) -> None:
        views = self._ws().views
        self._filled = {vid: vals for vid, vals in self._filled.items() if not views[vid].closed}

    def _convert(self, field: Field, value: str) -> Any:
        if not value:
            return None
        kind = field.kind
        if kind in _SINGLE:
            return self._option(field, value)
        if kind in _MULTI:
            return [self._option(field, part.strip()) for part in value.split(",") if part.strip()]
        if kind in _USERS:
            ids = [self._user_id(part.strip()) for part in value.split(",") if part.strip()]
            return ids if kind.startswith("multi") else ids[0]
        if kind in _CHANNELS:
            ids = [self._channel_id(part.strip()) for part in value.split(",") if part.strip()]
            return ids if kind.startswith("multi") else ids[0]
        most, least = field.element.get("max_length"), field.element.get("min_length")
        if isinstance(most, int) and len(value) > most:
            raise FormError(f"{field.label} takes at most {most} characters (this is {len(value)})")
        if isinstance(least, int) and len(value) < least:
            raise FormError(f"{field.label} needs at least {least} characters")
        return value

    def _option(self, field: Field, value: str) -> str:
        if "external" in field.kind:
            return value
        wanted = value.lower()
        for option in field.options():
            text = text_of(option.get("text")).lower()
            if wanted in (str(option.get("value", "")).lower(), text, text.split(" · ")[0].strip()):
                return str(option.get("value"))
        choices = ", ".join(str(o.get("value")) for o in field.options())
        raise FormError(f"{value} is not a choice for {field.label} (choices: {choices})")

    def _shown(self, field: Field, value: Any) -> str:
        values = value if isinstance(value, list) else [value]
        if field.options():
            texts = {str(o.get("value")): text_of(o.get("text")) for o in field.options()}
            return ", ".join(texts.get(str(v), str(v)) for v in values)
        if field.kind in _USERS:
            return ", ".join(f"@{self._ws().user_name(v)}" for v in values)
        if field.kind in _CHANNELS:
            return ", ".join(self._ws().channel_label(v) for v in values)
        return ", ".join(str(v) for v in values)


def fields(v: View) -> list[Field]:
    """The input blocks of a view, numbered from 1 (block ids defaulted as the emulator does)."""
    inputs = [b for b in v.view.get("blocks", []) if b.get("type") == "input"]
    return [
        Field(
            n,
            str(block.get("block_id") or f"input_{n - 1}"),
            text_of(block.get("label")),
            block.get("element") or {},
            bool(block.get("optional")),
        )
        for n, block in enumerate(inputs, start=1)
    ]


def _field(v: View, name: str) -> Field:
    wanted = name.lower()
    every = fields(v)
    exact = [f for f in every if wanted in f.names()]
    prefix = [f for f in every if f.label.lower().startswith(wanted)]
    found = exact or prefix
    if len(found) != 1:
        names = ", ".join(f.block_id for f in every) or "none"
        raise FormError(f"no field {name!r} in {_title(v)} (fields: {names})")
    return found[0]


def _title(v: View) -> str:
    return text_of(v.view.get("title")) or "the form"
