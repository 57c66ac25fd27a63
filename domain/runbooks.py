"""A team's Markdown runbook read into what it states (`Incident:`, `Issue N:`, `RB-00N`, `RUN-XXX`).

Missing parts give empty values; text is kept as written (mentions, markup), the renderer escapes it.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field, replace
from datetime import timedelta

from domain import markdown as md

MAX_TEXT = 1_000_000

_LIST_LABEL = re.compile(r"\s{0,3}[-*+]\s+\*\*([^*]{1,100})\*\*:?\s*(.*)")
_NUMBERED = re.compile(r"\s{0,3}\d{1,3}[.)]\s+(.*)")
_STEP_PREFIX = re.compile(r"step\s+\d{1,3}\s*[:.)-]\s*", re.I)
_HANDLE = re.compile(r"(?<![\w.@])@[A-Za-z0-9][\w.-]{0,80}")
_LINK = re.compile(r"\[([^\]\n]{0,200})\]\((https?://[^)\s]{1,2000})\)")
_URL = re.compile(r"https?://[^\s)>\]]{1,2000}")
_DURATION = re.compile(r"(\d{1,4})\s*(minutes?|mins?|m|hours?|hrs?|hr|h|days?|d)\b", re.I)
_LEVEL = re.compile(
    r"(?:\d{1,2}[.)]\s+)?\*\*(?:L|Level\s*)([1-9])\b\s*[-:\u2013\u2014]?\s*([^*]{0,200})\*\*:?\s*(.*)"
)
_REFERENCE = re.compile(r"\b(RB-\d{1,6}|RUN-[A-Za-z0-9]{1,20})\b")
_SEVERITY = re.compile(r"(?:P[0-4]|SEV[1-5])\Z", re.I)
_FAILURE_HEADINGS = (
    re.compile(r"incident:\s*(.+)", re.I),
    re.compile(r"issue\s+\d{1,4}\s*[:.-]\s*(.+)", re.I),
    re.compile(r"(RB-\d{1,6})\s*[:.-]\s*(.+)", re.I),
)
_UNITS = {"m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Dashboard:
    """A dashboard the runbook names; `url` is empty when it names one without a link."""

    name: str
    url: str


@dataclass(frozen=True)
class DiagnosisStep:
    """One diagnosis step: its title, its code (may be empty) and any other text under it."""

    title: str
    code: str = ""
    detail: str = ""


@dataclass(frozen=True)
class FailureMode:
    """A known failure of the service and how to diagnose and resolve it."""

    name: str
    symptoms: tuple[str, ...] = ()
    steps: tuple[DiagnosisStep, ...] = ()
    causes: tuple[str, ...] = ()
    resolution: str = ""
    verification: str = ""
    severity: str = ""
    time: str = ""
    reference: str = ""
    line: int = 0


@dataclass(frozen=True)
class EscalationLevel:
    """L1..L4: who is brought in, and after how long the incident has lasted (None: from the start)."""

    level: int
    who: str
    after: timedelta | None
    line: int = field(default=0, compare=False)  # where the runbook states it (0: not from a file)

    @property
    def handle(self) -> str:
        """The user group the level names (`@payments-leads`), empty when it names none."""
        return _first_handle(self.who)


@dataclass(frozen=True)
class Expert:
    """A subject-matter expert: the area and the handle (or the text when no handle is given)."""

    area: str
    handle: str
    line: int = field(default=0, compare=False)  # where the runbook states it (0: not from a file)


@dataclass(frozen=True)
class Runbook:
    """What a runbook states; `truncated` says the text was cut at MAX_TEXT characters."""

    title: str = ""
    service: str = ""
    owner: str = ""
    on_call: str = ""
    dashboards: tuple[Dashboard, ...] = ()
    failure_modes: tuple[FailureMode, ...] = ()
    escalation: tuple[EscalationLevel, ...] = ()
    experts: tuple[Expert, ...] = ()
    truncated: bool = False


def parse_runbook(text: str) -> Runbook:
    """Read a runbook's Markdown; never raises on odd or missing content."""
    truncated = len(text) > MAX_TEXT
    lines = md.lines(text[:MAX_TEXT])
    headings = md.headings(lines)
    fields = md.fields(lines)
    title = next((h.title for h in headings if h.level == 1), "")
    owner_text = fields.get("owner", "")
    return Runbook(
        title=title,
        service=fields.get("service", "") or fields.get("service/system", ""),
        owner=_first_handle(owner_text) or owner_text,
        on_call=fields.get("on-call", "") or fields.get("on call", "") or fields.get("oncall", ""),
        dashboards=_dashboards(lines, headings),
        failure_modes=_failure_modes(lines, headings, title, fields),
        escalation=_escalation(lines, headings),
        experts=_experts(lines, headings),
        truncated=truncated,
    )


def _first_handle(text: str) -> str:
    m = _HANDLE.search(text[: md.MAX_LINE])
    return m.group(0).rstrip(".") if m else ""


def _duration(text: str) -> timedelta | None:
    m = _DURATION.search(text[: md.MAX_LINE])
    if not m:
        return None
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)[0].lower()])


def _dashboards(lines: list[md.Line], headings: list[md.Heading]) -> tuple[Dashboard, ...]:
    out: list[Dashboard] = []
    named = [h for h in headings if "dashboard" in h.title.lower()]
    # "Dashboards & Alerts" holding "### Dashboards": only the innermost one lists dashboards.
    sections = [h for n, h in enumerate(named) if n + 1 == len(named) or named[n + 1].index >= h.end]
    inside = {id(line) for h in sections for line in md.section(lines, h)}
    for line in lines:
        if line.code:
            continue
        link = _LINK.search(line.head)
        labelled = _LIST_LABEL.match(line.head)
        if id(line) in inside and labelled:
            name, value = labelled.group(1).strip().rstrip(":"), labelled.group(2)
            m = _LINK.search(value) or _URL.search(value)
            url = (m.group(2) if m and m.re is _LINK else m.group(0) if m else "").rstrip(".,")
            out.append(Dashboard(name, url))
        elif link and (id(line) in inside or "dashboard" in link.group(1).lower()):
            out.append(Dashboard(link.group(1).strip(), link.group(2)))
    return tuple(out)


def _failure_modes(
    lines: list[md.Line], headings: list[md.Heading], title: str, fields: dict[str, str]
) -> tuple[FailureMode, ...]:
    modes: list[FailureMode] = []
    for h in headings:
        for pattern in _FAILURE_HEADINGS:
            m = pattern.match(h.title)
            if m:
                reference, name = (m.group(1).upper(), m.group(2)) if m.lastindex == 2 else ("", m.group(1))
                body = md.section(lines, h)
                modes.append(_failure_from_parts(name.strip(), reference, body, lines[h.index].number))
                break
    if not modes:
        whole = _single_failure(lines, headings, title, fields)
        if whole is not None:
            modes.append(whole)
    return _apply_quick_reference(modes, lines, headings)


def _failure_from_parts(name: str, reference: str, body: list[md.Line], number: int) -> FailureMode:
    parts = _parts(body)
    inline = {key: value for key, (value, _) in parts.items()}
    grab = {key: lines for key, (_, lines) in parts.items()}
    return FailureMode(
        name=name,
        symptoms=md.bullets(grab.get("symptoms", [])) or tuple(filter(None, [inline.get("symptoms", "")])),
        steps=_steps(grab.get("diagnosis", [])),
        causes=md.bullets(grab.get("causes", [])),
        resolution=md.text(grab.get("resolution", []), inline.get("resolution", "")),
        verification=md.text(grab.get("verification", []), inline.get("verification", "")),
        severity=inline.get("severity", ""),
        time=inline.get("time", ""),
        reference=reference,
        line=number,
    )


# Checked in order: "Common Causes & Solutions" is the resolution, "Root Causes" the causes.
_PART_WORDS = (
    ("symptom", "symptoms"),
    ("diagnos", "diagnosis"),
    ("solution", "resolution"),
    ("resolution", "resolution"),
    ("cause", "causes"),
    ("verif", "verification"),
    ("recovery time", "time"),
    ("time to resolve", "time"),
    ("severity", "severity"),
    ("priority", "severity"),
)


def _part_key(label: str) -> str:
    key = label.lower()
    return next((part for word, part in _PART_WORDS if word in key), "other")


_KNOWN_PART_HEADINGS = ("symptom", "diagnos", "resolution", "solution", "verif", "root cause", "prevention")


def _parts(body: list[md.Line]) -> dict[str, tuple[str, list[md.Line]]]:
    """Split a failure section at part headings (`### Symptoms`) and bold labels (`**Symptoms**:`)."""
    parts: dict[str, tuple[str, list[md.Line]]] = {}
    current: list[md.Line] | None = None
    for line in body:
        key, inline = None, ""
        if not line.code:
            heading = md.HEADING.match(line.head)
            label = md.LABEL.match(line.head)
            if heading and heading.group(2).lower().strip().startswith(_KNOWN_PART_HEADINGS):
                key = _part_key(heading.group(2))
            elif label and not heading:
                found, inline = md.label(label)
                key = _part_key(found) if found is not None else None
        if key is None:
            if current is not None:
                current.append(line)
            continue
        if key in parts:  # a second "Symptoms" in one section: keep the first, drop the repeat's lines
            current = []
            continue
        current = []
        parts[key] = (inline, current)
    return parts


def _steps(body: list[md.Line]) -> tuple[DiagnosisStep, ...]:
    starts = [
        i
        for i, line in enumerate(body)
        if not line.code and (_NUMBERED.match(line.head) or md.HEADING.match(line.head))
    ]
    if starts:
        out = []
        for n, start in enumerate(starts):
            chunk = body[start + 1 : starts[n + 1] if n + 1 < len(starts) else len(body)]
            head = body[start].head
            m = _NUMBERED.match(head) or md.HEADING.match(head)
            raw = m.group(1) if m and m.re is _NUMBERED else m.group(2) if m else head
            title = _STEP_PREFIX.sub("", md.unbold(raw.strip()), count=1)
            out.append(DiagnosisStep(title, md.code(chunk), md.text([x for x in chunk if not x.code])))
        return tuple(out)
    code = [line for line in body if line.code and not md.FENCE.match(line.text)]
    if code:
        return _steps_from_code(code)
    return tuple(DiagnosisStep(item) for item in md.bullets(body))


def _steps_from_code(code: list[md.Line]) -> tuple[DiagnosisStep, ...]:
    """One code block of commands: each blank-line-separated group is a step, titled by its comment."""
    groups: list[list[str]] = [[]]
    for line in textwrap.dedent("\n".join(x.text for x in code)).split("\n"):
        if line.strip():
            groups[-1].append(line)
        elif groups[-1]:
            groups.append([])
    titled = [
        (g[0].strip(), g[1:] if g[0].strip().startswith("#") and len(g) > 1 else g) for g in groups if g
    ]
    return tuple(DiagnosisStep(first.lstrip("#").strip(), "\n".join(code)) for first, code in titled)


def _single_failure(
    lines: list[md.Line], headings: list[md.Heading], title: str, fields: dict[str, str]
) -> FailureMode | None:
    """A one-failure runbook (`# RUN-XXX: <title>`): its `##` sections are the parts."""
    m = _REFERENCE.search(title[: md.MAX_LINE])
    if not m:
        return None
    name = title[m.end() :].lstrip(" :.-") or title
    parts: dict[str, list[md.Line]] = {}
    for h in headings:
        if h.level == 2:
            key = _part_key(h.title)
            if key in ("symptoms", "diagnosis", "resolution", "verification") and key not in parts:
                parts[key] = md.section(lines, h)
    number = next((h for h in headings if h.level == 1), None)
    return FailureMode(
        name=name,
        symptoms=md.bullets(parts.get("symptoms", [])),
        steps=_steps(parts.get("diagnosis", [])),
        resolution=md.text(parts.get("resolution", [])),
        verification=md.text(parts.get("verification", [])),
        severity=fields.get("severity", ""),
        time=fields.get("time to resolve", ""),
        reference=(fields.get("id", "") or m.group(1)),
        line=lines[number.index].number if number else 0,
    )


def _apply_quick_reference(
    modes: list[FailureMode], lines: list[md.Line], headings: list[md.Heading]
) -> tuple[FailureMode, ...]:
    """Fill severity, time and reference from a Quick Reference table (failure -> priority, time, section)."""
    rows = []
    for h in headings:
        if "quick reference" in h.title.lower():
            rows.extend(md.table_rows(md.section(lines, h)))
    by_reference = {m.reference: i for i, m in reversed(list(enumerate(modes))) if m.reference}
    by_name = {m.name.lower(): i for i, m in reversed(list(enumerate(modes)))}
    for cells in rows:
        if not cells or not cells[0]:
            continue
        name = cells[0]
        rest = " ".join(cells[1:])
        ref = _REFERENCE.search(rest)
        severity = next((c.strip("* ") for c in cells[1:] if _SEVERITY.match(c.strip("* "))), "")
        time = next((c for c in cells[1:] if _duration(c) is not None), "")
        reference = ref.group(1).upper() if ref else ""
        i = by_reference.get(reference) if reference else None
        i = by_name.get(name.lower()) if i is None else i
        if i is None:  # a row without a section of its own; a repeated row merges into it
            by_name.setdefault(name.lower(), len(modes))
            by_reference.setdefault(reference, len(modes))
            modes.append(FailureMode(name=name, severity=severity, time=time, reference=reference))
            continue
        mode = modes[i]
        modes[i] = replace(
            mode,
            severity=mode.severity or severity,
            time=mode.time or time,
            reference=mode.reference or reference,
        )
    return tuple(modes)


def _escalation(lines: list[md.Line], headings: list[md.Heading]) -> tuple[EscalationLevel, ...]:
    heading = next((h for h in headings if "escalation path" in h.title.lower()), None)
    if heading is None:
        return ()
    out: list[EscalationLevel] = []
    pending: timedelta | None = None
    for line in md.section(lines, heading):
        if line.code:
            continue
        m = _LEVEL.match(line.head.strip())
        if m:
            named, rest = m.group(2).strip(), m.group(3).strip()
            after = _duration(rest) if named else None
            out.append(EscalationLevel(int(m.group(1)), named or rest, after or pending, line.number))
            pending = None
        elif "escalate if" in line.head.lower():
            pending = _duration(line.head)
    return tuple(out)


def _experts(lines: list[md.Line], headings: list[md.Heading]) -> tuple[Expert, ...]:
    out: list[Expert] = []
    for h in headings:
        title = h.title.lower()
        if "expert" in title:
            for line in md.section(lines, h):
                m = None if line.code else _LIST_LABEL.match(line.head)
                if m:
                    value = m.group(2).strip()
                    out.append(
                        Expert(m.group(1).strip().rstrip(":"), _first_handle(value) or value, line.number)
                    )
        elif "escalation contact" in title:
            for cells in md.table_rows(md.section(lines, h)):
                handle = _first_handle(" ".join(cells[1:]))
                if cells[0] and handle:
                    out.append(Expert(cells[0], handle))
    return tuple(out)
