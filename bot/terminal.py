"""Text for the operator's terminal: what people and outside systems wrote cannot drive it.

Every command-line output goes through `safe` (a line or a field) or `write` (a multi-line output: a
table, a Markdown document, JSON, an iCalendar feed). C0 controls (ESC among them), DEL, C1 controls
and the characters that reorder text (bidi overrides, isolates and marks) or break lines become
visible escapes such as `\\x1b` or `\\u202e`; everything printable is left as it is.
"""

from __future__ import annotations

import re
import sys
from typing import TextIO

_UNSAFE = re.compile("\r\n|[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
_LINE_ENDS = ("\n", "\r\n")


def _visible(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: str, *, lines: bool = False) -> str:
    """`text` with every control character as a visible escape; with `lines`, the line ends (`\\n`, or
    the `\\r\\n` of iCalendar) that a multi-line output is made of stay."""

    def escaped(m: re.Match[str]) -> str:
        found = m.group(0)
        if lines and found in _LINE_ENDS:
            return found
        return "".join(_visible(ch) for ch in found)

    return _UNSAFE.sub(escaped, text)


def write(text: str, out: TextIO | None = None) -> None:
    """Write a multi-line output, made safe, to `out` (standard output when not given)."""
    (out or sys.stdout).write(safe(text, lines=True))


def say(line: str, out: TextIO | None = None) -> None:
    """Print one line, made safe: nothing in it can start another line."""
    print(safe(line), file=out or sys.stdout)
