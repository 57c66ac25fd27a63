"""How the shell prints: to its output, in colour on a terminal, people's text made safe first."""

from __future__ import annotations

import re
from typing import TextIO

from bot.terminal import safe

_ANSI = {"SEV1": "1;41;97", "SEV2": "1;31", "SEV3": "1;33", "SEV4": "1;34", "head": "1;36", "dim": "2"}
_STATUS = re.compile(r"\b(Investigating|Identified|Mitigating|Monitoring|Resolved)\b")


class Painted(str):
    """Text made safe, then painted by the shell: its own colour codes are written as they are."""


class Painting:
    """Writing lines, severities and statuses painted when `colour` is on (mixed into Shell)."""

    out: TextIO
    colour: bool

    def _colourise(self, text: str) -> Painted:
        text = safe(text, lines=True)
        if not self.colour:
            return Painted(text)
        head, _, body = text.partition("\n")
        head = self._paint(head, "head")
        body = re.sub(r"\bSEV[1-4]\b", lambda m: self._paint(m.group(0), m.group(0)), body)
        body = _STATUS.sub(lambda m: f"\x1b[1m{m.group(0)}\x1b[0m", body)
        return Painted(head + ("\n" + body if body else ""))

    def _paint(self, text: str, style: str) -> Painted:
        text = safe(text, lines=True)
        return Painted(f"\x1b[{_ANSI[style]}m{text}\x1b[0m" if self.colour else text)

    def _write(self, text: str) -> None:
        """Print a line or lines; only what `_paint` or `_colourise` made keeps escape sequences."""
        print(text if isinstance(text, Painted) else safe(text, lines=True), file=self.out, flush=True)
