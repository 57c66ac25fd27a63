"""Messages from templates: the default wording is Jinja2 files shipped with the bot, a team's own files
over them (per severity or service by file name), rendered sandboxed into mrkdwn sections.

A template yields text; the bot builds the blocks around it (header, context, buttons). Every value
that came from a person or an alert is escaped for mrkdwn unless it is `Mrkdwn` (a mention or link the
bot composed); broadcasts (`<!here>`, `<!channel>`, `<!everyone>`) never survive, whoever wrote them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from domain.urls import safe_url
from messages.blocks import MAX_SECTION, truncate, utc, utc_time, utc_when
from messages.text import escape, link

NAMES = ("initial", "update", "resolution", "announce", "page", "reminder", "runbook_card")
SUFFIX = ".j2"
SECTION_BREAK = "---"
# What one rendered message may hold: its sections become at most this many blocks.
MAX_SECTIONS = 20
_INLINE = "<template>"  # what Jinja calls a template compiled from a string
_BROADCAST = re.compile(r"<!(here|channel|everyone)(?:\|[^<>]*)?>")


class Mrkdwn(str):
    """Text that is already mrkdwn (a mention or a link the bot composed): not escaped again."""

    __slots__ = ()


@dataclass(frozen=True)
class When:
    """A time as templates show it: `2026-11-22 03:04 UTC`; `.time` is `03:04 UTC`, `.iso` ISO 8601,
    `.short` the time alone on the day of `now` (when the message is drawn), else with the day."""

    at: datetime
    now: datetime | None = None

    def __str__(self) -> str:
        return utc(self.at)

    @property
    def time(self) -> str:
        return utc_time(self.at)

    @property
    def iso(self) -> str:
        return self.at.isoformat()

    @property
    def short(self) -> str:
        return utc_when(self.at, self.now) if self.now else utc(self.at)


@dataclass(frozen=True)
class Source:
    """One template file: its file name (`initial.sev1.j2`), its text, and the path errors name."""

    file: str
    text: str
    path: str


class TemplateError(Exception):
    """A template that does not compile or render: `where` is `path:line`."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")
        self.where, self.problem = where, problem


def finalize(value: Any) -> str:
    """How `{{ value }}` is written: escaped unless it is Mrkdwn; none as nothing."""
    if value is None:
        return ""
    if isinstance(value, Mrkdwn):
        return value
    return escape(str(value))


def _link(url: Any, label: Any = None) -> Mrkdwn:
    """`link(url, label)` in a template: a link only for a clean http(s) URL, else the escaped label;
    without a label, the URL's host and path (60 characters at most)."""
    if label is None and safe_url(str(url)):
        parts = urlsplit(str(url))
        label = truncate(f"{parts.hostname}{parts.path}".rstrip("/"), 60)
    text = escape(str(url if label is None else label))
    return Mrkdwn(link(str(url), text) if safe_url(str(url)) else text)


def _raw(value: Any) -> Mrkdwn:
    """`{{ value | raw }}`: written as it came, its mentions and links live (a template's own choice);
    a broadcast in it is still neutralised with the rest of the message."""
    return Mrkdwn("" if value is None else str(value))


def neutralise(text: str) -> str:
    """No broadcast in a rendered message, whoever wrote it: `<!here>` becomes an inert `@here`."""
    return _BROADCAST.sub(lambda m: f"@{m.group(1)}", text)


def sections(text: str) -> list[str]:
    """The rendered text as mrkdwn sections: split at `---` lines, then at lines to fit 3,000 characters."""
    out: list[str] = []
    for part in re.split(rf"(?m)^\s*{re.escape(SECTION_BREAK)}\s*$", text):
        part = part.strip("\n").rstrip()
        while len(part) > MAX_SECTION:
            cut = part.rfind("\n", 0, MAX_SECTION)
            cut = cut if cut > 0 else MAX_SECTION
            out.append(part[:cut].rstrip())
            part = part[cut:].lstrip("\n")
        if part.strip():
            out.append(part)
    return out


class _Loader(jinja2.BaseLoader):
    def __init__(self, sources: Mapping[str, Source]) -> None:
        self.sources = sources

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        source = self.sources.get(template)
        if source is None:
            raise jinja2.TemplateNotFound(template)
        return source.text, source.path, lambda: True


class Templates:
    """The templates in use: the defaults, with a team's files (by the same file names) over them."""

    def __init__(self, defaults: Mapping[str, Source], own: Mapping[str, Source] | None = None) -> None:
        self.defaults, self.own = dict(defaults), dict(own or {})
        self.sources = {**self.defaults, **self.own}
        self.env = SandboxedEnvironment(
            loader=_Loader(self.sources),
            undefined=jinja2.StrictUndefined,
            finalize=finalize,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.globals["link"] = _link
        self.env.filters["raw"] = _raw
        self.compiled: dict[str, jinja2.Template] = {}
        self._inline: dict[str, jinja2.Template] = {}  # inline texts (workflows'), compiled once each
        for file, source in self.sources.items():
            try:
                self.compiled[file] = self.env.get_template(file)
            except jinja2.TemplateSyntaxError as exc:
                raise TemplateError(f"{source.path}:{exc.lineno}", exc.message or "syntax error") from None

    def files(self, name: str) -> list[str]:
        """The file names of `name`'s variants in use, most specific first."""
        prefix = name + "."
        found = [f for f in self.sources if f.startswith(prefix) and f.endswith(SUFFIX)]
        return sorted(found, key=lambda f: (-f.count("."), f))

    def pick(self, name: str, severity: str | None = None, service: str | None = None) -> str:
        """The file that renders `name` for an incident: service and severity, service, severity, plain."""
        sev = (severity or "").lower()
        wanted = []
        if service:
            wanted += [f"{name}.service-{service}.{sev}{SUFFIX}", f"{name}.service-{service}{SUFFIX}"]
        wanted += [f"{name}.{sev}{SUFFIX}", f"{name}{SUFFIX}"]
        for file in wanted:
            if file in self.sources:
                return file
        raise TemplateError(name, f"no template {name}{SUFFIX}")

    def render(
        self, name: str, variables: Mapping[str, Any], severity: str | None = None, service: str | None = None
    ) -> list[str]:
        """The message's mrkdwn sections; TemplateError (`path:line`) when the template fails."""
        return self.render_file(self.pick(name, severity, service), variables)

    def render_file(self, file: str, variables: Mapping[str, Any]) -> list[str]:
        """One file rendered into sections."""
        template = self.compiled[file]
        try:
            text = template.render(**variables)
        except Exception as exc:  # a template's own arithmetic or a filter given the wrong type fail too
            raise TemplateError(_where(self.sources[file].path, exc.__traceback__), str(exc)) from None
        found = sections(neutralise(text))
        if len(found) > MAX_SECTIONS:
            where = f"{self.sources[file].path}:1"
            raise TemplateError(where, f"renders {len(found)} sections; Slack's limits allow {MAX_SECTIONS}")
        return found

    def render_text(self, text: str, variables: Mapping[str, Any], where: str) -> list[str]:
        """Inline template text (a workflow's `post = "…"`) rendered like a file, in the same sandbox
        with the same escaping; TemplateError names `where` (the policy key) and the line."""
        template = self._inline.get(text)
        if template is None:
            try:
                template = self.env.from_string(text)
            except jinja2.TemplateSyntaxError as exc:
                raise TemplateError(f"{where}:{exc.lineno}", exc.message or "syntax error") from None
            self._inline[text] = template
        try:
            rendered = template.render(**variables)
        except Exception as exc:  # as render_file: a template's own arithmetic or a filter's wrong type
            line = _where(_INLINE, exc.__traceback__).removeprefix(_INLINE)  # ":n" in the inline text
            raise TemplateError(f"{where}{line}", str(exc)) from None
        found = sections(neutralise(rendered))
        if len(found) > MAX_SECTIONS:
            problem = f"renders {len(found)} sections; Slack's limits allow {MAX_SECTIONS}"
            raise TemplateError(f"{where}:1", problem)
        return found

    def overridden(self) -> list[str]:
        """The team's own files in use."""
        return sorted(self.own)


def _where(path: str, tb: TracebackType | None) -> str:
    """`path:line` of the deepest frame of the template in a render's traceback."""
    line = 0
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == path:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f"{path}:{line or 1}"
