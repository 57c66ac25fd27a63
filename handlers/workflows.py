"""Workflows: the op that carries out a workflow run, and the steps it can do.

Runs are queued by the incident events themselves (services/workflow_triggers.py), never by a
listener: this feature has no Slack listener, only the op. Each step module's `STEPS` lists its
steps; a new step is a function in a services/workflow_steps*.py module, and its module is named here.
"""

from __future__ import annotations

from functools import partial

from slack_bolt.async_app import AsyncApp

from handlers import workflow_checklists
from handlers.wiring import Wiring
from runtime.ops import Job
from services import (
    workflow_steps,
    workflow_steps_changes,
    workflow_steps_messages,
    workflow_steps_paging,
    workflow_steps_timed,
)
from services.people import mentioned
from services.workflows import RunWorkflow, StepKinds
from services.workspace import given, needs

STEP_MODULES = (
    workflow_steps,
    workflow_steps_paging,
    workflow_steps_timed,
    workflow_steps_messages,
    workflow_steps_changes,
)


def step_kinds() -> StepKinds:
    """Every step this version carries out, each with the workspace services it names."""
    kinds = StepKinds()
    for module in STEP_MODULES:
        for kind, run in module.STEPS:
            kinds.add(kind, run, needs(run, after=2))
    return kinds


def register(app: AsyncApp, wiring: Wiring) -> None:
    """The op carrying out workflow runs, and the checkboxes of the checklists they post."""
    kinds = step_kinds()
    workflow_checklists.register(app, wiring)

    async def run_workflow(job: Job[RunWorkflow]) -> None:
        services = await wiring.services(job.team)
        line = await services.workflows.run(job.steps, job.request, kinds, partial(given, services))
        # A run names no asker: the people its timeline line names are looked up, as a request's are.
        services.people.named(mentioned(line))

    wiring.ops.add(RunWorkflow, run_workflow)
