"""The service catalog: each service as its runbook states it (the TOML's keys over it), found by
name or by an alert's labels, and its failure modes matched to an incident's title or alert."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from domain.runbooks import Dashboard, EscalationLevel, Expert, FailureMode
from domain.spelling import closest

_WORD = re.compile(r"[a-z0-9]+")
# Words too common to say anything about which failure it is.
_STOP = frozenset(
    "a an and are as at be by for from has have in is it of on or the to was with not no all its "
    "this that than we our service issue incident sev1 sev2 sev3 sev4 p0 p1 p2 p3".split()
)
MAX_MATCHES = 3


@dataclass(frozen=True)
class Service:
    """A service of the catalog: what its runbook states, with the policy file's keys over it."""

    name: str
    title: str
    runbook: str  # the file or URL it was read from
    owner: str = ""  # a user group handle, `@team`
    on_call: str = ""  # what the runbook says about on-call (the schedule is the policy's)
    schedule: str | None = None
    dashboards: tuple[Dashboard, ...] = ()
    failure_modes: tuple[FailureMode, ...] = ()
    escalation: tuple[EscalationLevel, ...] = ()
    experts: tuple[Expert, ...] = ()
    alerts: Mapping[str, str] = field(default_factory=dict)

    def expert(self, area: str) -> Expert | None:
        """The expert group of an area (case ignored; a prefix of one area is enough)."""
        wanted = area.strip().lower()
        exact = [e for e in self.experts if e.area.lower() == wanted]
        starts = [e for e in self.experts if e.area.lower().startswith(wanted)] if wanted else []
        return (exact or (starts if len(starts) == 1 else [None]))[0]

    def escalation_after(self, level: int) -> timedelta | None:
        """How long the runbook lets an incident last before level `level` (1-based) is brought in."""
        return next((e.after for e in self.escalation if e.level == level), None)


@dataclass(frozen=True)
class Match:
    """A failure mode matched to some text, and why: the words found in its name or symptoms."""

    mode: FailureMode
    words: tuple[str, ...]
    score: int

    @property
    def why(self) -> str:
        """The explanation shown with it: `matched “502”, “gateway”`."""
        return "matched " + ", ".join(f"“{w}”" for w in self.words)


@dataclass(frozen=True)
class Catalog:
    """Every service of a workspace's policy."""

    services: tuple[Service, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.services)

    @property
    def names(self) -> tuple[str, ...]:
        """Every service's name, in the policy's order."""
        return tuple(s.name for s in self.services)

    def get(self, name: str | None) -> Service | None:
        """The service called `name` (case ignored), None for none or an unknown name."""
        if not name:
            return None
        wanted = name.strip().lower()
        return next((s for s in self.services if s.name == wanted), None)

    def closest(self, name: str) -> str | None:
        """The known name `name` is most likely a typo of (or that it starts), if any."""
        near = closest(name, self.names)
        if near:
            return near
        starts = [n for n in self.names if n.startswith(name.strip().lower())] if name.strip() else []
        return starts[0] if len(starts) == 1 else None

    def for_alert(self, labels: Mapping[str, str]) -> Service | None:
        """The service whose `alerts` labels all appear in `labels`; the most specific one on a tie."""
        found = [
            s for s in self.services if s.alerts and all(labels.get(k) == v for k, v in s.alerts.items())
        ]
        return max(found, key=lambda s: len(s.alerts)) if found else None


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def words(text: str) -> set[str]:
    """The words of `text`, lower-cased, a plural's `s` dropped (`502s` is `502`, `timeouts` `timeout`)."""
    return {_stem(w) for w in _WORD.findall(text.lower()[:5000])}


def match(service: Service, text: str) -> list[Match]:
    """The failure modes that `text` (an incident's title, an alert's summary) is most likely about.

    Plain and explainable: a word of the text in a mode's name counts 2, in its symptoms 1; words
    as common as "the" or "service" count nothing. The best-scoring modes (up to three) are returned.
    """
    said = words(text) - _STOP
    # Said back as the text has it ("queries", not the stem "querie").
    spoken = {_stem(w): w for w in reversed(_WORD.findall(text.lower()[:5000]))}
    scored: list[Match] = []
    for mode in service.failure_modes:
        in_name = said & words(mode.name)
        in_symptoms = (said & words(" ".join(mode.symptoms))) - in_name
        score = 2 * len(in_name) + len(in_symptoms)
        if score:
            shown = tuple(spoken.get(w, w) for w in sorted(in_name) + sorted(in_symptoms))
            scored.append(Match(mode, shown, score))
    if not scored:
        return []
    best = max(m.score for m in scored)
    return [m for m in scored if m.score == best][:MAX_MATCHES]
