"""Waiting for Enter on a terminal without blocking the event loop, or the process's exit on Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from typing import TextIO


def terminal_stdin() -> TextIO | None:
    """Standard input when it is a terminal a person can press Enter on; None otherwise (a pipe,
    /dev/null, a test runner's stand-in)."""
    with contextlib.suppress(AttributeError, ValueError, OSError):
        if sys.stdin is not None and sys.stdin.isatty():
            return sys.stdin
    return None


async def until_enter(stdin: TextIO) -> None:
    """Return when a line (or end of input) is read from `stdin`. The read runs in a daemon thread, not
    the loop's executor, so Ctrl-C leaves at once instead of waiting for a line that never comes."""
    loop = asyncio.get_running_loop()
    entered: asyncio.Future[None] = loop.create_future()

    def read() -> None:
        with contextlib.suppress(Exception):
            stdin.readline()
        loop.call_soon_threadsafe(lambda: entered.done() or entered.set_result(None))

    threading.Thread(target=read, name="shell-enter", daemon=True).start()
    await entered
