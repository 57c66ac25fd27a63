"""The words of the bot's messages: the default templates shipped in `messages/templates/`, a team's own
`[templates] dir` over them, rendered with an incident's variables and custom fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from config.errors import ConfigError
from config.policy import Policy
from domain.records import Incident
from messages.templating import SUFFIX, Source, TemplateError, Templates
from messages.variables import FieldSpec, incident_vars
from storage.db import Database
from storage.fields import FieldRepo

DEFAULTS = Path(__file__).resolve().parent.parent / "messages" / "templates"
MAX_FILE = 100_000


def _sources(folder: Path, shown: Path | None = None) -> dict[str, Source]:
    out: dict[str, Source] = {}
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        if path.stat().st_size > MAX_FILE:
            raise ConfigError(f"{path}: larger than {MAX_FILE} bytes")
        out[path.name] = Source(path.name, path.read_text(encoding="utf-8"), str(shown or folder / path.name))
    return out


def own_folder(policy: Policy, base: Path | None) -> Path | None:
    """The team's template folder (`[templates] dir`, relative to the policy file), if set."""
    if not policy.templates.dir:
        return None
    path = Path(policy.templates.dir).expanduser()
    return path if path.is_absolute() or base is None else base / path


def load_templates(policy: Policy, base: Path | None) -> Templates:
    """The defaults with the team's files over them; ConfigError (one line, file:line) when one is
    unreadable or does not compile. Blocking file reads: call it before the loop serves anything."""
    folder = own_folder(policy, base)
    try:
        own = _sources(folder) if folder is not None else {}
        if folder is not None and not folder.is_dir():
            raise ConfigError(f"templates.dir: {folder}: not a folder")
        return Templates(_sources(DEFAULTS), own)
    except TemplateError as exc:
        raise ConfigError(f"{exc.where}: {exc.problem}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"templates.dir: {folder}: cannot read ({exc})") from None


def specs(policy: Policy) -> tuple[FieldSpec, ...]:
    """The policy's custom fields, as templates see them."""
    return tuple(FieldSpec(f.name, f.type) for f in policy.fields)


class Wording:
    """One workspace's templates and fields: the sections of a message for an incident."""

    def __init__(self, templates: Templates, policy: Policy, db: Database) -> None:
        self.templates, self.policy, self.db = templates, policy, db
        self.specs = specs(policy)

    async def sections(self, name: str, incident: Incident, **extra: Any) -> list[str]:
        """`name` rendered for `incident` (its severity's and service's variant first), with `extra`
        variables (`update`, `summary`, `level`, `person`…)."""
        values: dict[str, Any] = {}
        if self.specs:
            async with self.db.session() as s:
                values = await FieldRepo(s).of(incident.id)
        variables = {"incident": incident_vars(incident, self.specs, values), **extra}
        return self.templates.render(name, variables, incident.severity.value, incident.service)
