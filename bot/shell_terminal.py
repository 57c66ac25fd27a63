"""`incident-bot shell` at a terminal: line editing and history (readline), Ctrl-C that clears the line.

The workspace runs on an event loop in a second thread, so the main thread can sit in `input()`
and receive SIGINT there: Ctrl-C never waits for Enter and never ends in a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any, TypeVar

from bot.shell import Shell

T = TypeVar("T")
log = logging.getLogger(__name__)
HISTORY = Path("~/.incident_bot_history")
HISTORY_LENGTH = 1000
TICK_SECONDS = 1.0
NUDGE_SECONDS = 0.05
NUDGES = 2
LEAVE_HINT = "(Ctrl-C again or Ctrl-D to leave)"


class Interrupted(Exception):
    """Ctrl-C while a command ran: it was cancelled."""


def _block_ctrl_c() -> None:
    """Keep SIGINT off this thread (and the threads it starts), so it reaches the main thread."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})


class CtrlC:
    """Ctrl-C as KeyboardInterrupt in the main thread, only while it waits (for a line or a command);
    Ctrl-Cs that come while it does not wait are counted in `missed`.

    readline's select() misses a SIGINT that lands just before it starts waiting. With `nudge`, a
    watcher sees each SIGINT on the wakeup fd and, if the handler has not run soon after, sends the
    main thread a SIGWINCH: readline handles that in C (no second Python handler to run while the
    KeyboardInterrupt is already set), and its select() returns, so the pending handler runs.
    """

    def __init__(self, *, nudge: bool) -> None:
        self.waiting = False
        self.missed = 0
        self._seen = False
        self._main = threading.get_ident()
        self._old = signal.signal(signal.SIGINT, self._on_sigint)
        self._old_fd: int | None = None
        self._reader, self._writer = socket.socketpair()
        self._writer.setblocking(False)
        if nudge and hasattr(signal, "pthread_kill") and hasattr(signal, "SIGWINCH"):
            self._old_fd = signal.set_wakeup_fd(self._writer.fileno(), warn_on_full_buffer=False)
            threading.Thread(target=self._watch, name="shell-ctrl-c", daemon=True).start()

    @contextlib.contextmanager
    def wait(self) -> Iterator[None]:
        """Ctrl-C raises KeyboardInterrupt inside this block."""
        self.waiting = True
        try:
            yield
        finally:
            self.waiting = False

    def take_missed(self) -> bool:
        """Whether Ctrl-C was pressed while nothing waited (and forget it)."""
        missed, self.missed = self.missed, 0
        return missed > 0

    def close(self) -> None:
        """Give SIGINT back to Python's default handling."""
        if self._old_fd is not None:
            signal.set_wakeup_fd(self._old_fd)
        signal.signal(signal.SIGINT, self._old)
        self._writer.close()
        self._reader.close()

    def _on_sigint(self, _signum: int, _frame: FrameType | None) -> None:
        self._seen = True
        if self.waiting:
            raise KeyboardInterrupt
        self.missed += 1

    def _watch(self) -> None:
        _block_ctrl_c()
        while True:
            try:
                data = self._reader.recv(64)
            except OSError:
                return
            if not data:
                return
            if signal.SIGINT not in data:
                continue
            for _ in range(NUDGES):
                time.sleep(NUDGE_SECONDS)
                if self._seen:
                    break
                signal.pthread_kill(self._main, signal.SIGWINCH)
            self._seen = False


class LoopThread:
    """An asyncio loop in a daemon thread; `call` runs a coroutine there and waits for it."""

    def __init__(self, ctrl_c: CtrlC) -> None:
        self.ctrl_c = ctrl_c
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="shell-loop", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        _block_ctrl_c()
        self.loop.run_forever()

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """The coroutine's result; on Ctrl-C it is cancelled, waited for, and Interrupted is raised."""
        started, done = threading.Event(), threading.Event()

        async def tracked() -> T:
            started.set()
            try:
                return await coro
            finally:
                done.set()

        future: Future[T] = asyncio.run_coroutine_threadsafe(tracked(), self.loop)
        try:
            with self.ctrl_c.wait():
                return future.result()
        except KeyboardInterrupt:
            future.cancel()
            # After this round trip the task has either started (and `done` will be set once it has
            # unwound) or was cancelled before it began.
            asyncio.run_coroutine_threadsafe(asyncio.sleep(0), self.loop).result()
            if started.is_set():
                done.wait()
            else:
                coro.close()  # cancelled before it began: it will never be awaited
            raise Interrupted from None

    def close(self) -> None:
        """Stop the loop and the thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


def _readline() -> ModuleType | None:
    """GNU readline (line editing, arrow keys, history) when there is one and input is a terminal."""
    if not sys.stdin.isatty():
        return None
    try:
        import readline
    except ImportError:  # e.g. Windows without pyreadline: input() still works, without editing
        return None
    readline.set_history_length(HISTORY_LENGTH)
    with contextlib.suppress(OSError):
        readline.read_history_file(HISTORY.expanduser())
    return readline


def _save_history(readline: ModuleType | None) -> None:
    if readline is not None:
        with contextlib.suppress(OSError):
            readline.write_history_file(HISTORY.expanduser())


async def _tick_while_idle(shell: Shell) -> None:
    """While the person types, due pages and reminders still go out on time (shown at the next Enter)."""
    while True:
        await asyncio.sleep(TICK_SECONDS)
        try:
            await shell.tick()
        except Exception:  # the next tick tries again; the shell stays usable
            log.exception("background tick failed")


def run_interactive(database_url: str | None = None, own_policy: dict[str, Any] | None = None) -> int:
    """Read commands from the terminal until `quit`, Ctrl-D, or Ctrl-C twice on an empty line (on
    `own_policy`, a policy file's tables, instead of the built-in policy)."""
    readline = _readline()
    ctrl_c = CtrlC(nudge=readline is not None)
    runner = LoopThread(ctrl_c)
    shell = Shell()
    try:
        try:
            runner.call(shell.start(database_url, own_policy))
        except Interrupted:
            return 130
        ticking = asyncio.run_coroutine_threadsafe(_tick_while_idle(shell), runner.loop)
        print("incident-bot shell: a local Slack workspace with the real bot. Type `help`.", file=shell.out)
        print(f"Web view: {shell.web_url} (Sign in with Slack: pick who you are)", file=shell.out)
        try:
            _read_eval_print(shell, runner, readline)
        finally:
            ticking.cancel()
            with contextlib.suppress(Interrupted):
                runner.call(shell.stop())
            _save_history(readline)
    finally:
        runner.close()
        ctrl_c.close()
    return 0


def _read_eval_print(shell: Shell, runner: LoopThread, readline: ModuleType | None) -> None:
    ctrl_c = runner.ctrl_c
    armed = False  # the last key was Ctrl-C on an empty line
    while True:
        typed = None
        if ctrl_c.take_missed():
            typed = ""
        else:
            try:
                with ctrl_c.wait():
                    line = input(shell.prompt())
            except EOFError:
                print(file=shell.out)
                return
            except KeyboardInterrupt:
                typed = readline.get_line_buffer() if readline is not None else ""
        if typed is not None:  # Ctrl-C
            if armed and not typed:
                print(file=shell.out)
                return
            armed = not typed
            print(f"\n{LEAVE_HINT}" if armed else "", file=shell.out, flush=True)
            continue
        armed = False
        try:
            if not runner.call(shell.run(line)):
                return
        except Interrupted:
            print("\n(interrupted)", file=shell.out, flush=True)
