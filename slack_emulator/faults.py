"""Injected failures: Slack's rate limits, server errors and error answers, on demand."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from slack_emulator.state import Workspace

_SERVER_ERRORS = {
    500: "internal_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "request_timeout",
}


@dataclass
class Fault:
    """An injected failure: for the next `times` calls of a method, or every call until `until`
    (the emulator's clock); `after_effect` carries the call out first and loses its answer."""

    times: int
    status: int
    body: dict[str, Any]
    headers: dict[str, str]
    until: float | None = None
    after_effect: bool = False


@dataclass
class Hold:
    """The next call of a method kept in flight (a slow Slack) until `release()`: orders a race.
    `arrived` is set once that call came in; it is carried out after the release."""

    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        """Let the held call go on."""
        self.released.set()


class FaultInjection:
    """SlackEmulator's injected failures, per Web API method, and calls held in flight."""

    state: Workspace
    _faults: dict[str, list[Fault]]
    _holds: dict[str, list[Hold]]

    def hold(self, method: str) -> Hold:
        """Keep the next call of `method` waiting until the returned Hold is released."""
        held = Hold()
        self._holds.setdefault(method, []).append(held)
        return held

    async def _wait_if_held(self, method: str) -> None:
        queue = self._holds.get(method)
        if queue:
            held = queue.pop(0)
            held.arrived.set()
            await held.released.wait()

    def inject(
        self,
        method: str,
        *,
        times: int = 1,
        status: int | None = None,
        retry_after: int | None = None,
        error: str | None = None,
        seconds: float | None = None,
        after_effect: bool = False,
    ) -> None:
        """Fail the next `times` calls of `method` (or every call for the next `seconds` of the
        emulator's clock): 429 with Retry-After, a 5xx, or HTTP 200 with `error`. With
        `after_effect` the call takes effect and only its answer is the failure (Slack did it,
        the answer was lost)."""
        if status is None and error is None:
            raise ValueError("inject needs status or error")
        headers: dict[str, str] = {}
        if status == 429:
            headers["Retry-After"] = str(retry_after if retry_after is not None else 1)
            body = {"ok": False, "error": error or "ratelimited"}
        elif status is not None:
            body = {"ok": False, "error": error or _SERVER_ERRORS.get(status, "internal_error")}
        else:
            body = {"ok": False, "error": error}
        until = self.state.now() + seconds if seconds is not None else None
        self._faults.setdefault(method, []).append(
            Fault(times, status or 200, body, headers, until, after_effect)
        )

    def _fault(self, method: str) -> Fault | None:
        queue = self._faults.get(method)
        while queue:
            fault = queue[0]
            if fault.until is not None:
                if self.state.now() < fault.until:
                    return fault
                queue.pop(0)  # the outage is over
                continue
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
            return fault
        return None
