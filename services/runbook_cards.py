"""Runbook cards: a service's incident gets the card of the failure modes its title matches (posted and
pinned when declared), `/incident runbook` lists every mode and posts the chosen one's card, and a
ticked step goes on the timeline and shows on the card for everyone."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from domain.catalog import Service, match
from domain.errors import IncidentError
from domain.runbooks import DiagnosisStep
from messages import runbook as templates
from messages.blocks import Message, truncate
from messages.runbook import Card, Shown, StepRef, Tick
from messages.variables import card_vars
from runtime.journal import Outcome, Steps, carry_on
from runtime.slack_ops import SlackOps
from services.catalog import ServiceCatalog
from services.oncall import OnCall
from services.wording import Wording
from storage.db import Database
from storage.models import Incident
from storage.repositories import IncidentRepo, TimelineRepo
from storage.runbooks import RunbookCheckRepo

log = logging.getLogger(__name__)


class RunbookCards:
    """One workspace's runbook cards."""

    def __init__(
        self,
        db: Database,
        slack: SlackOps,
        catalog: ServiceCatalog,
        oncall: OnCall,
        team_id: str,
        words: Wording,
    ) -> None:
        self.db, self.slack, self.catalog, self.oncall, self.team_id = db, slack, catalog, oncall, team_id
        self.words = words

    async def post_matched(self, out: Outcome, incident: Incident) -> None:
        """A step of the declaration: the card of the modes the title matches, pinned (nothing when the
        incident names no known service)."""
        service = self.catalog.get(incident.service)
        channel = incident.channel_id
        if service is None or not channel:
            return
        shown = _matched(service, incident.title)
        ts = await out.step("card", lambda: self._post(channel, incident, service, shown, chosen=False))
        if ts:
            await out.step("card_pin", lambda: self.slack.pin(channel, ts))

    async def listing(self, channel_id: str) -> Message:
        """`/incident runbook`: every failure mode of the channel's service, each with a Post button."""
        incident, service = await self.service_of(channel_id)
        return templates.mode_list(service, incident.ref)

    async def post_chosen(self, steps: Steps, channel_id: str, index: int, digest: str) -> Outcome:
        """The card of the mode picked from the list, posted in the channel."""
        incident, service = await self.service_of(channel_id)
        modes = service.failure_modes
        if index >= len(modes) or templates.mode_digest(modes[index]) != digest:
            raise IncidentError("The runbook changed since that list: `/incident runbook` lists it again.")
        out = Outcome(incident, steps)
        shown = (Shown(index, modes[index]),)
        await out.step("post", lambda: self._post(channel_id, incident, service, shown, chosen=True))
        return out

    async def tick(
        self, steps: Steps, channel_id: str, card_ts: str, ref: StepRef, checked: bool, by: str
    ) -> Outcome:
        """Record a step ticked (or unticked) on the timeline, once; then show the card as it now is."""

        async def record(s: AsyncSession) -> int:
            incident = await IncidentRepo(s, self.team_id).by_channel(channel_id)
            if incident is None:
                raise IncidentError("This runbook card's incident is gone.")
            step = self._step(incident, ref)
            title = truncate(step.title or f"step {ref.step + 1}", 300)
            who = by if checked else None
            if await RunbookCheckRepo(s, incident.id).set(card_ts, ref.key, title, who, steps.at):
                said = f"{'Checked' if checked else 'Unchecked'}: {title}"
                await TimelineRepo(s).record(incident.id, "runbook", said, steps.at, author_id=by)
            return incident.id

        incident_id = await steps.db("record", record)
        async with self.db.session() as s:
            incident = await IncidentRepo(s, self.team_id).get(incident_id)
        assert incident is not None
        out = Outcome(incident, steps)
        await out.step("card", lambda: self._refresh(incident, card_ts, ref))
        return out

    async def service_of(self, channel_id: str) -> tuple[Incident, Service]:
        """The channel's incident and its service; a refusal saying why when there is none."""
        async with self.db.session() as s:
            incident = await IncidentRepo(s, self.team_id).by_channel(channel_id)
        if incident is None:
            raise IncidentError("`/incident runbook` works in the channel of a service's incident.")
        if not incident.service:
            raise IncidentError(
                f"{incident.ref} names no service, so it has no runbook: "
                "declare with `--service <name>` to get one."
            )
        service = self.catalog.get(incident.service)
        if service is None:
            raise IncidentError(f"{incident.ref}'s service `{incident.service}` is no longer in the policy.")
        return incident, service

    def _step(self, incident: Incident, ref: StepRef) -> DiagnosisStep:
        service = self.catalog.get(incident.service)
        modes = service.failure_modes if service else ()
        if ref.mode >= len(modes) or ref.step >= len(modes[ref.mode].steps):
            raise IncidentError("The runbook changed since this card was posted: `/incident runbook` again.")
        return modes[ref.mode].steps[ref.step]

    async def _post(
        self, channel: str, incident: Incident, service: Service, shown: tuple[Shown, ...], *, chosen: bool
    ) -> str:
        return await self.slack.post(channel, await self._card(incident, service, shown, chosen, {}))

    async def _refresh(self, incident: Incident, card_ts: str, ref: StepRef) -> None:
        """Draw the card again with every tick it holds."""
        service = self.catalog.get(incident.service)
        if service is None or not incident.channel_id:
            return
        modes = service.failure_modes
        why = {s.index: s.why for s in _matched(service, incident.title)} if ref.kind == "m" else {}
        shown = tuple(Shown(i, modes[i], why.get(i, "")) for i in ref.modes if i < len(modes))
        async with self.db.session() as s:
            rows = await RunbookCheckRepo(s, incident.id).of_card(card_ts)
        ticks = {
            k: Tick(r.checked_by, r.checked_at) for k, r in rows.items() if r.checked_by and r.checked_at
        }
        message = await self._card(incident, service, shown, ref.kind == "c", ticks)
        await self.slack.update(incident.channel_id, card_ts, message)

    async def _card(
        self,
        incident: Incident,
        service: Service,
        shown: tuple[Shown, ...],
        chosen: bool,
        ticks: dict[str, Tick],
    ) -> Message:
        """The card, with who owns and is on call for the service now (the schedule from the database);
        its head in the team's words (`runbook_card`)."""
        group: bool | None = None
        if service.owner.startswith("@"):
            # Reading the user groups needs a scope the app may lack: the card goes out without it.
            with carry_on(log, "could not look up user group %s", service.owner):
                group = await self.slack.usergroup_id(service.owner) is not None
        on_call: tuple[str, ...] | None = None
        if service.schedule:
            try:
                on_call = await self.oncall.now(service.schedule)
            except IncidentError as exc:
                log.warning("on call for %s: %s", service.name, exc)
        card = Card(
            service=service,
            shown=shown,
            chosen=chosen,
            title=incident.title,
            owner_is_group=group,
            on_call=on_call,
            runbook_url=incident.runbook_url,
            ticks=ticks,
        )
        head = await self.words.sections("runbook_card", incident, service=card_vars(card))
        return templates.card(card, head)


def _matched(service: Service, title: str) -> tuple[Shown, ...]:
    """The modes `title` matches, each with its place among the service's modes and why."""
    places = {id(m): i for i, m in enumerate(service.failure_modes)}
    return tuple(Shown(places[id(m.mode)], m.mode, m.why) for m in match(service, title))
