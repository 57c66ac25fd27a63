"""Workflows carried out: a `RunWorkflow` request, queued in the transaction of the incident event that
set it off (services/workflow_triggers.py), runs its steps in order through the inbox, in order with
the incident's other work.

Each step is one entry of the request's journal: done once across retries, restarts and replicas
(a Slack call whose answer was lost is the inbox's usual at-least-once, runtime/inbox.py). A
transient failure retries the request from that step; a step that fails for good is said in the
channel (which workflow, which step, why) and the rest still run. The run ends with one line on the
timeline. Steps are functions found through `StepKinds` (services/workflow_steps*.py), each given the
`StepContext` and the workspace services it names, and returning what it did (mrkdwn, escaped).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from config.workflow_steps import AnyStep, Step
from domain.errors import IncidentError
from domain.workflows import Change
from messages import workflows as templates
from messages.blocks import Message
from runtime import keys
from runtime.journal import Fenced, Steps, carry_on, once
from runtime.ops import Request
from runtime.retry import is_transient
from runtime.slack_ops import SlackOpError, SlackOps
from services.wording import workflow_vars
from storage.db import Database
from storage.models import Incident
from storage.repositories import IncidentRepo, TimelineRepo

log = logging.getLogger(__name__)
T = TypeVar("T")
_STEP: TypeAdapter[Step] = TypeAdapter(AnyStep)

# The workflows whose step is running now, the first that set the others off first: an event a step
# causes sets off no workflow already in it, so two workflows setting a field back and forth stop.
running: ContextVar[tuple[str, ...]] = ContextVar("running_workflows", default=())


class RunWorkflow(Request):
    """One workflow set off by one incident event: its steps as they were then (`do`, each step's
    inline table), carried out in order with the incident channel's other requests (`behind` the
    declaration, for a declaration's)."""

    OP = "workflow"
    event: str  # the event's id (the outbox's): with the workflow's name, what makes the run one
    workflow: str
    incident: int
    channel: str
    change: Change
    do: tuple[dict[str, Any], ...]
    # A declaration's workflows run behind the declaration itself (its own order key, not yet the
    # channel's): its post, topic and announcement come first, whatever replica claims the run.
    behind: str | None = None
    # The workflows whose steps set this one off, the first first (`running` while its steps run).
    chain: tuple[str, ...] = ()

    def order_key(self) -> str:
        return self.behind or keys.channel(self.channel)

    def idem_key(self) -> str | None:
        return keys.workflow(self.event, self.workflow)

    def channel_id(self) -> str | None:
        return self.channel

    def what(self) -> str:
        return f"run workflow {self.workflow}"


class StepFailed(Exception):
    """A step that cannot be done, now or later (its message says why): said in the channel, and the
    workflow's other steps still run."""


@dataclass
class StepContext:
    """What a step is given besides its arguments and services: the incident, which workflow and step
    this is, the change that set it off, and the request's journal."""

    incident: Incident
    workflow: str
    index: int  # the step's place in `do`
    change: Change
    steps: Steps

    @property
    def channel(self) -> str:
        """The incident channel."""
        return self.incident.channel_id or ""

    @property
    def where(self) -> str:
        """How a problem with this step's words names it."""
        return f"workflow {self.workflow}, step {self.index + 1}"

    @property
    def said(self) -> dict[str, Any]:
        """`workflow` in the step's words: its name, trigger and the change's `from` and `to`."""
        return workflow_vars(self.workflow, self.change.on, self.change.from_, self.change.to)

    async def once(self, name: str, make: Callable[[], Awaitable[T]]) -> T:
        """One part of a step that does several things, done once across retries (its result, which
        must be JSON, journalled): the next attempt of the step carries on after it."""
        key = f"do.{self.index}.{name}"
        done, value = self.steps.recorded(key)
        if done:
            return value  # type: ignore[no-any-return]
        value = await make()
        await self.steps.record(key, value)
        return value


# (context, step, the workspace services it names) → what it did, as mrkdwn ("invited <@U0ANA>").
StepFn = Callable[..., Awaitable[str]]
# The named workspace services, as keyword arguments.
Provide = Callable[[tuple[str, ...]], dict[str, Any]]


@dataclass(frozen=True)
class StepKind:
    """How one kind of step is carried out: its function and the services it names."""

    run: StepFn
    needs: tuple[str, ...]


class StepKinds:
    """Step kind (`post`) → what carries it out; filled by handlers/workflows.py's `register`."""

    def __init__(self) -> None:
        self._kinds: dict[str, StepKind] = {}

    def add(self, kind: type[Step], run: StepFn, needs: tuple[str, ...]) -> None:
        """Carry out `kind` steps with `run(ctx, step, **services named by needs)`."""
        if kind.KIND in self._kinds:
            raise ValueError(f"workflow step {kind.KIND!r} added twice")
        self._kinds[kind.KIND] = StepKind(run, needs)

    def get(self, kind: str) -> StepKind | None:
        """What carries out `kind`, if this version can."""
        return self._kinds.get(kind)

    def names(self) -> set[str]:
        """Every step kind this version carries out."""
        return set(self._kinds)


class Workflows:
    """One workspace's workflow runs."""

    def __init__(self, db: Database, slack: SlackOps, team_id: str) -> None:
        self.db, self.slack, self.team_id = db, slack, team_id

    async def run(self, steps: Steps, request: RunWorkflow, kinds: StepKinds, provide: Provide) -> str:
        """Each step once, in order; a failure for good said and passed; then the run's timeline line (its
        reasons too), which it returns."""
        async with self.db.session() as s:
            incident = await IncidentRepo(s, self.team_id).get(request.incident)
        assert incident is not None, "incidents are never deleted"
        did: list[str] = []
        failed: list[tuple[int, str, str]] = []
        for i, raw in enumerate(request.do):
            kind = str(next(iter(raw), "?"))
            result = await self._step(steps, request, incident, i, raw, kinds, provide)
            if "failed" in result:
                failed.append((i, kind, result["failed"]))
                message = templates.step_failed(request.workflow, i, len(request.do), kind, result["failed"])
                await once(steps, f"do.{i}.said", lambda m=message: self._say(incident, m))  # type: ignore[misc]
            else:
                did.append(str(result.get("did") or ""))
        entry = templates.run_entry(request.workflow, did, failed)

        async def record(s: AsyncSession) -> None:
            await TimelineRepo(s).record(incident.id, "workflow", entry, steps.at)

        await steps.db("timeline", record)
        log.info(
            "workflow %s ran for %s: %d steps, %d failed",
            request.workflow,
            incident.ref,
            len(request.do),
            len(failed),
            extra={"incident_id": incident.id},
        )
        return entry

    async def _step(
        self,
        steps: Steps,
        request: RunWorkflow,
        incident: Incident,
        index: int,
        raw: dict[str, Any],
        kinds: StepKinds,
        provide: Provide,
    ) -> dict[str, str]:
        """One step, unless the journal has it: `{"did": …}` or `{"failed": why}`, recorded. A transient
        failure propagates (the request is retried from this step)."""
        name = f"do.{index}"
        done, value = steps.recorded(name)
        if done:
            return value  # type: ignore[no-any-return]
        try:
            step = _STEP.validate_python(raw)
            kind = kinds.get(step.KIND)
            if kind is None:
                raise StepFailed(f"this version of the bot cannot do `{step.KIND}` steps")
            ctx = StepContext(incident, request.workflow, index, request.change, steps)
            chain = running.set((*request.chain, request.workflow))
            try:
                result = {"did": await kind.run(ctx, step, **provide(kind.needs))}
            finally:
                running.reset(chain)
        except (StepFailed, IncidentError) as exc:
            result = {"failed": str(exc)}
        except SlackOpError as exc:
            if exc.transient:
                raise
            result = {"failed": f"{exc.what} failed ({exc.error})"}
        except ValidationError as exc:  # queued by another version of the bot
            result = {"failed": f"its arguments do not read ({exc.errors()[0]['msg']})"}
        except Fenced:
            raise
        except Exception as exc:
            if is_transient(exc):
                raise
            log.exception("workflow %s step %d failed", request.workflow, index + 1)
            result = {"failed": f"an error in the bot ({type(exc).__name__}); it is logged"}
        await steps.record(name, result)
        return result

    async def _say(self, incident: Incident, message: Message) -> None:
        """Say a failure in the channel; a channel that cannot take it any more only loses the echo."""
        with carry_on(
            log, "could not say a workflow step failed in %s", incident.ref, incident_id=incident.id
        ):
            await self.slack.post(incident.channel_id or "", message)
