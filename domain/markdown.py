"""Markdown as a runbook is read: lines (with whether they are inside a code fence), headings and
the sections under them, `**Key**: value` labels, lists, pipe tables. Pure; every pattern looks only
at a line's head, so no line costs more than MAX_LINE characters of matching."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

MAX_LINE = 2_000
HEADING = re.compile(r"(#{1,6})\s+(.*)")
FENCE = re.compile(r"\s{0,3}(```|~~~)")
LABEL = re.compile(r"\*\*([^*]{1,100})\*\*(:?)\s*(.*)")
BULLET = re.compile(r"\s{0,8}(?:[-*+]|\d{1,3}[.)])\s+(?:\[[ xX]\]\s+)?(.*)")


@dataclass(frozen=True)
class Line:
    text: str
    code: bool  # inside a fenced block (the fence lines themselves included)
    number: int

    @property
    def head(self) -> str:
        return self.text[:MAX_LINE]


@dataclass(frozen=True)
class Heading:
    index: int
    level: int
    title: str
    end: int  # the index of the next heading of this level or higher (or the line count)


def lines(text: str) -> list[Line]:
    out, fenced = [], False
    for number, raw in enumerate(text.splitlines(), start=1):
        fence = FENCE.match(raw) is not None
        out.append(Line(raw, fenced or fence, number))
        if fence:
            fenced = not fenced
    return out


def headings(lines: list[Line]) -> list[Heading]:
    found: list[tuple[int, int, str]] = []
    for i, line in enumerate(lines):
        m = None if line.code else HEADING.match(line.head)
        if m:
            found.append((i, len(m.group(1)), m.group(2).strip().rstrip("#").strip()))
    # Each heading's end in one pass (a stack of open headings), so thousands of headings stay linear.
    ends = [len(lines)] * len(found)
    open_: list[int] = []
    for n, (index, level, _) in enumerate(found):
        while open_ and found[open_[-1]][1] >= level:
            ends[open_.pop()] = index
        open_.append(n)
    return [Heading(i, level, title, end) for (i, level, title), end in zip(found, ends, strict=True)]


def section(lines: list[Line], heading: Heading) -> list[Line]:
    """The lines under a heading, up to the next heading of its level or higher."""
    return lines[heading.index + 1 : heading.end]


def fields(lines: list[Line]) -> dict[str, str]:
    """The document's `**Key**: value` lines (first occurrence wins)."""
    out: dict[str, str] = {}
    for line in lines:
        m = None if line.code else LABEL.match(line.head)
        if m:
            key, value = label(m)
            if key is not None and value:
                out.setdefault(key.lower(), value)
    return out


def label(m: re.Match[str]) -> tuple[str | None, str]:
    """A bold label's key and inline value; no key when the bold text is not followed by a colon."""
    inner, colon, rest = m.group(1).strip(), m.group(2), m.group(3).strip()
    if inner.endswith(":"):
        return inner[:-1].strip(), rest
    return (inner, rest) if colon else (None, rest)


def bullets(lines: list[Line]) -> tuple[str, ...]:
    out = []
    for line in lines:
        m = None if line.code else BULLET.match(line.head)
        if m and m.group(1).strip():
            out.append(m.group(1).strip())
    return tuple(out)


def text(lines: list[Line], first: str = "") -> str:
    body = "\n".join([first, *(line.text for line in lines)] if first else [line.text for line in lines])
    return body.strip("\n").strip()


def unbold(text: str) -> str:
    if text.startswith("**") and text.endswith("**") and len(text) > 4:
        return text[2:-2].strip()
    return text


def code(chunk: list[Line]) -> str:
    inner = [line.text for line in chunk if line.code and not FENCE.match(line.text)]
    return textwrap.dedent("\n".join(inner)).strip("\n")


def table_rows(body: list[Line]) -> list[list[str]]:
    """The data rows of the first pipe table in `body` (header and separator rows left out)."""
    rows: list[list[str]] = []
    seen_header = False
    for line in body:
        stripped = line.head.strip()
        if line.code or not stripped.startswith("|"):
            if rows or seen_header:
                break
            continue
        cells = [c.strip() for c in stripped.strip("|").split("|")]
        if not seen_header:
            seen_header = True
        elif all(set(c) <= set("-: ") for c in cells):
            continue
        else:
            rows.append(cells)
    return rows
