"""`[[fields]]` (a team's own facts on an incident) and `[templates]` (its own wording)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from config.fields import Strict
from domain.fields import FieldType

Where = Literal["initial", "announcement", "status"]


class CustomField(Strict):
    """A field: its `name` (used in commands and templates), `label`, `type`, `options` for a select,
    whether it is `required` to declare or to resolve, and where it is `show`n."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    label: str = Field(default="", max_length=60)
    type: FieldType = "text"
    options: tuple[str, ...] = ()
    required: Literal["declare", "resolve"] | None = None
    show: tuple[Where, ...] = ("initial", "status")

    @model_validator(mode="after")
    def _check(self) -> CustomField:
        selects = self.type in ("select", "multi_select")
        if selects and not self.options:
            raise ValueError(f"field {self.name}: a {self.type} needs options")
        if not selects and self.options:
            raise ValueError(f"field {self.name}: options are only for select and multi_select")
        if len(set(o.lower() for o in self.options)) != len(self.options):
            raise ValueError(f"field {self.name}: options must be unique")
        if any(not o.strip() or len(o) > 75 for o in self.options):
            raise ValueError(f"field {self.name}: an option is 1 to 75 characters")
        if len(self.options) > 100:
            raise ValueError(f"field {self.name}: at most 100 options")
        return self

    @property
    def title(self) -> str:
        """How it is labelled: its `label`, else its name."""
        return self.label or self.name.replace("_", " ").capitalize()


class TemplatesConfig(Strict):
    """Where a team's own message templates are: a folder, relative to the policy file."""

    dir: str | None = None
