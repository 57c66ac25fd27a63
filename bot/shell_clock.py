"""The shell's clock: real time, plus what `wait` skipped."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta


class ShellClock:
    """Real time, plus what `wait` skipped: it moves between steps as time does and never goes back."""

    def __init__(self) -> None:
        self._start, self._mono = datetime.now(UTC), time.monotonic()
        self._skipped = timedelta(0)

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._mono) + self._skipped

    def advance(self, delta: timedelta) -> datetime:
        """Skip `delta` ahead and return the new time."""
        self._skipped += max(delta, timedelta(0))
        return self.now()

    def timestamp(self) -> float:
        """Epoch seconds, for the emulator's message timestamps."""
        return self.now().timestamp()
