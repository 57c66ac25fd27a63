"""The ack path and throughput targets, the bot beside a bare Bolt floor in the same run.

python bench/targets.py [--backends sqlite,postgresql] [--modes serve,split] [--senders 16]
    [--seconds 60] [--rate 300] [--rate-seconds 20] [--rounds 300] [--only a,b,c,d] [--profile DIR]
    [--build REV[,REV]] [--settle S]

Every request is a message event from the incident's scribe in its channel: the bot stores it in its
inbox before it answers 200, and the worker later puts it in the transcript and on the timeline.
  a. ack p50 with one sender <= the floor's p50 + 1 ms (bot and floor in turn, random order);
  b. ack p99 < 50 ms with --senders concurrent senders (bot and floor in turn, random order);
  c. >= 1,000 events/s acknowledged AND carried out, for --seconds: --senders go as fast as they can,
     first at the floor, then at the bot; "carried out" is the scribe timeline entries counted in the
     database every second (those stored within the window, over its length), and at the end every
     acknowledged event must be on the timeline once;
  d. ack-to-effect p50 <= 50 ms at a steady --rate per second for --rate-seconds (the floor, then the
     bot): per event, the inbox row's done_at (written in the transaction that stores the timeline
     entry) minus its created_at (set before the ack), so at least the time from ack to effect.
Modes: `serve` is `incident-bot serve --http` as deployed; `split` is `serve --no-worker` beside
`incident-bot worker`, run only where that command exists. --profile DIR attaches py-spy to the bot's
processes during a, c and d and prints where the samples fell (those runs are slower: py-spy shares the
two cores). --build runs the bot of one commit, or of several side by side (before and after a change,
in the same noise), exported from git, instead of the work tree; --settle waits for a quiet machine
before each backend and mode. PostgreSQL runs use a throw-away database on TEST_DATABASE_URL.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from _database import COUNT, SCRIBE, PgWaits, drained, effects, lost_doubled, scalar, slowest_window
from _procs import MODES, BotUnderTest, Meter, Profile, Usage, settle, worker_command_exists
from _profile import summary
from _support import (
    ROOT,
    drop_pg,
    machine,
    open_incident,
    percentile,
    pg_database,
    workspace,
)
from _wire import Connection, Events
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage.db import async_url

A_MARGIN_MS, B_P99_MS, C_RATE, D_P50_MS = 1.0, 50.0, 1000.0, 50.0
WARMUP = 50  # unmeasured requests to each server before a
PACED_SENDERS = 32  # enough connections that a steady rate is kept while some requests wait


@dataclass
class Outcome:
    """One backend and mode: the figures of each target that ran."""

    a: dict[str, list[float]] = field(default_factory=dict)  # server -> ack seconds
    b: dict[str, list[float]] = field(default_factory=dict)
    c_floor: float = 0.0  # acks/s
    c_acked: float = 0.0
    c_done: float = 0.0  # timeline entries stored per second within the window
    c_min10: tuple[float, float] = (0.0, 0.0)  # the slowest 10 s of acks and of effects
    c_drain: float = 0.0  # seconds after the window until every acked event was on the timeline
    c_usage: tuple[Usage, Usage] | None = None  # floor's phase, bot's phase
    c_events: tuple[int, int] = (0, 0)
    c_waits: str = ""  # what the bot's PostgreSQL sessions were doing during its flood
    d_floor: list[float] = field(default_factory=list)  # ack seconds
    d_bot: list[float] = field(default_factory=list)
    d_rates: tuple[float, float] = (0.0, 0.0)
    d_effect: list[float] = field(default_factory=list)  # ack-to-effect seconds
    lost: int = 0
    doubled: int = 0
    profiles: list[Path] = field(default_factory=list)  # py-spy recordings, with --profile


# load


async def in_turn(bot: BotUnderTest, events: Events, rounds: int, senders: int) -> dict[str, list[float]]:
    """`senders` clients, each sending its share of `rounds` to the bot and the floor in random order."""
    times: dict[str, list[float]] = {"bot": [], "floor": []}

    async def sender(share: int) -> None:
        targets = [("bot", Connection(bot.server.port)), ("floor", Connection(bot.floor.port))]
        try:
            for _ in range(share):
                for name, conn in random.sample(targets, 2):
                    body = events.body("EvAB" if name == "bot" else "FlAB", name == "bot")
                    status, elapsed = await conn.post(body)
                    assert status == 200, (name, status)
                    times[name].append(elapsed)
        finally:
            for _, conn in targets:
                await conn.close()

    await asyncio.gather(*(sender(rounds // senders + (s < rounds % senders)) for s in range(senders)))
    return times


async def load(
    port: int,
    make: Callable[[], bytes],
    senders: int,
    seconds: float,
    rate: float = 0,
    times: list[float] | None = None,
) -> tuple[list[float], float]:
    """Send for `seconds`, as fast as `senders` go or paced to `rate` per second; (ack seconds, elapsed).

    Each ack's seconds are appended to `times` as it arrives (a new list unless given)."""
    times = [] if times is None else times
    started = time.perf_counter()
    deadline = started + seconds
    due = iter(range(10**9))

    async def sender() -> None:
        conn = Connection(port)
        try:
            while True:
                if rate:
                    wait = started + next(due) / rate - time.perf_counter()
                    if wait > 0:
                        await asyncio.sleep(wait)
                if time.perf_counter() >= deadline:
                    return
                status, elapsed = await conn.post(make())
                assert status == 200, status
                times.append(elapsed)
        finally:
            await conn.close()

    await asyncio.gather(*(sender() for _ in range(senders)))
    return times, time.perf_counter() - started


# one backend and mode


async def sustained(
    bot: BotUnderTest,
    events: Events,
    engine: AsyncEngine,
    args: argparse.Namespace,
    out: Outcome,
    waits: contextlib.AbstractAsyncContextManager[object],
    profiled: contextlib.AbstractAsyncContextManager[object],
) -> None:
    """c: the floor, then the bot, flooded for --seconds; the bot's timeline counted every second."""
    meter = Meter(bot.bot_pids(), bot.floor_pids())
    floor_acks, floor_s = await load(
        bot.floor.port, lambda: events.body("FlC", False), args.senders, args.seconds
    )
    floor_usage = meter.usage()
    base = await scalar(engine, COUNT)
    meter = Meter(bot.bot_pids(), bot.floor_pids())
    acks: list[float] = []
    samples: list[tuple[float, int, int]] = []

    async def sample() -> None:
        started = time.perf_counter()
        while True:
            done = await scalar(engine, COUNT) - base
            samples.append((time.perf_counter() - started, len(acks), done))
            await asyncio.sleep(1.0)

    sampler = asyncio.ensure_future(sample())
    async with waits, profiled:
        bot_acks, bot_s = await load(
            bot.server.port, lambda: events.body("EvC", True), args.senders, args.seconds, times=acks
        )
    sampler.cancel()
    done_in_window = await scalar(engine, COUNT) - base
    out.c_usage = (floor_usage, meter.usage())
    out.c_floor = len(floor_acks) / floor_s
    out.c_acked, out.c_done = len(bot_acks) / bot_s, done_in_window / bot_s
    out.c_min10 = slowest_window(samples)
    out.c_drain = await drained(engine, base + len(bot_acks))
    out.c_events = (len(floor_acks), len(bot_acks))
    if isinstance(waits, PgWaits):
        out.c_waits = waits.summary()


async def run(backend: str, mode: str, args: argparse.Namespace) -> Outcome:
    out = Outcome()
    emu = await workspace()
    tmp = tempfile.TemporaryDirectory()
    url = f"sqlite:///{tmp.name}/bench.db" if backend == "sqlite" else await pg_database()
    bot = BotUnderTest(emu, Path(tmp.name), url, mode)
    engine = create_async_engine(async_url(url))
    profile_dir = Path(args.profile) if args.profile else None

    def profiled(phase: str) -> contextlib.AbstractAsyncContextManager[object]:
        if profile_dir is None:
            return contextlib.nullcontext()
        recording = Profile(profile_dir, f"{backend}-{mode}-{phase}", bot.bot_pids())
        out.profiles += recording.files
        return recording

    try:
        await bot.start()
        events = Events(await open_incident(emu, bot.url), SCRIBE)
        await in_turn(bot, events, WARMUP, 1)
        if "a" in args.only:
            async with profiled("a"):
                out.a = await in_turn(bot, events, args.rounds, 1)
        if "b" in args.only:
            out.b = await in_turn(bot, events, args.rounds * 4, args.senders)
        if "d" in args.only:
            await drained(engine, len(events.expected))
            to_floor = lambda: events.body("FlD", False)  # noqa: E731
            to_bot = lambda: events.body("EvD", True)  # noqa: E731
            steady = (PACED_SENDERS, args.rate_seconds, args.rate)
            out.d_floor, floor_s = await load(bot.floor.port, to_floor, *steady)
            async with profiled("d"):
                out.d_bot, bot_s = await load(bot.server.port, to_bot, *steady)
            out.d_rates = (len(out.d_floor) / floor_s, len(out.d_bot) / bot_s)
            await drained(engine, len(events.expected))
            out.d_effect = await effects(engine, "EvD")
        if "c" in args.only:
            await drained(engine, len(events.expected))
            waits = PgWaits(engine) if backend == "postgresql" else contextlib.nullcontext()
            await sustained(bot, events, engine, args, out, waits, profiled("c"))
        await drained(engine, len(events.expected))
        out.lost, out.doubled = await lost_doubled(engine, events.expected)
        return out
    finally:
        await engine.dispose()
        await bot.stop()
        await emu.stop()
        if backend == "postgresql":
            await drop_pg(url)
        tmp.cleanup()


# the report


def ms(values: list[float], q: float) -> float:
    return percentile(values, q) * 1000 if values else float("nan")


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def report(title: str, o: Outcome, args: argparse.Namespace) -> list[tuple[str, str]]:
    """Print one backend and mode side by side with the floor; returns (target, verdict) pairs."""
    print(f"\n{title}")
    print(f"  {'':44} {'floor':>14} {'bot':>14}  verdict")
    verdicts = []
    if o.a:
        fa, ba = ms(o.a["floor"], 50), ms(o.a["bot"], 50)
        v = verdict(ba <= fa + A_MARGIN_MS)
        print(f"  {'a. ack p50, 1 sender':44} {fa:11.2f} ms {ba:11.2f} ms  {v} (bot {ba - fa:+.2f} ms)")
        print(f"  {'   ack p99, 1 sender':44} {ms(o.a['floor'], 99):11.2f} ms {ms(o.a['bot'], 99):11.2f} ms")
        verdicts.append(("a", v))
    if o.b:
        fb, bb = ms(o.b["floor"], 99), ms(o.b["bot"], 99)
        v = verdict(bb < B_P99_MS)
        label = f"b. ack p99, {args.senders} senders"
        print(f"  {label:44} {fb:11.2f} ms {bb:11.2f} ms  {v}")
        print(f"  {'   ack p50':44} {ms(o.b['floor'], 50):11.2f} ms {ms(o.b['bot'], 50):11.2f} ms")
        verdicts.append(("b", v))
    if o.c_usage:
        ok = o.c_acked >= C_RATE and o.c_done >= C_RATE and not o.lost and not o.doubled
        v = verdict(ok)
        label = f"c. acked/s over {args.seconds:g} s, {args.senders} senders"
        print(f"  {label:44} {o.c_floor:11.0f} /s {o.c_acked:11.0f} /s  {v}")
        print(f"  {'   carried out (on the timeline) /s, same window':44} {'':>14} {o.c_done:11.0f} /s")
        if o.c_min10[0] == o.c_min10[0]:  # not NaN: the window was at least 10 s
            print(f"  {'   slowest 10 s: acked /s, carried out /s':44} {'':>14} "
                  f"{o.c_min10[0]:6.0f} / {o.c_min10[1]:<6.0f}")  # fmt: skip
        print(f"  {'   backlog carried out after the window':44} {'':>14} {o.c_drain:12.1f} s")
        fu, bu = o.c_usage
        fcpu, bcpu = 1000 * fu.floor / max(o.c_events[0], 1), 1000 * bu.bot / max(o.c_events[1], 1)
        print(f"  {'   CPU per event (its processes)':44} {fcpu:11.2f} ms {bcpu:11.2f} ms")
        print(f"     machine during the floor's flood: {fu.shares()}")
        print(f"     machine during the bot's flood:   {bu.shares()}")
        if o.c_waits:
            print(f"     the bot's PostgreSQL sessions: {o.c_waits}")
        verdicts.append(("c", v))
    if o.d_effect:
        p50 = ms(o.d_effect, 50)
        v = verdict(p50 <= D_P50_MS)
        label = f"d. ack-to-effect p50 at {args.rate:g}/s"
        print(f"  {label:44} {'-':>14} {p50:11.1f} ms  {v}")
        print(f"  {'   ack-to-effect p99':44} {'-':>14} {ms(o.d_effect, 99):11.1f} ms")
        print(f"  {'   ack p50 / p99 at that rate':44} {ms(o.d_floor, 50):5.1f} / {ms(o.d_floor, 99):5.1f}"
              f" {ms(o.d_bot, 50):6.1f} / {ms(o.d_bot, 99):5.1f}")  # fmt: skip
        print(f"  {'   rate kept':44} {o.d_rates[0]:11.0f} /s {o.d_rates[1]:11.0f} /s")
        verdicts.append(("d", v))
    print(f"  every acknowledged event on the timeline once: lost {o.lost}, doubled {o.doubled}")
    return verdicts


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()


@dataclass
class Build:
    """A build of the bot: the work tree (`tree` None) or a commit exported into `tree`."""

    name: str
    tree: Path | None

    def use(self) -> None:
        """Make the bot's processes started from now on import this build."""
        if self.tree is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = str(self.tree)


def build(rev: str | None, into: Path) -> Build:
    """The work tree, or with `rev` that commit exported into `into`, whose modules the bot's
    processes then import (PYTHONPATH) instead of the work tree that others may be editing."""
    if rev is None:
        dirty = git("status", "--porcelain", "--untracked-files=no")
        return Build(git("rev-parse", "--short", "HEAD") + (" + uncommitted changes" if dirty else ""), None)
    into.mkdir()
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return Build(git("rev-parse", "--short", rev), into)


async def main(args: argparse.Namespace, tree: Path) -> None:
    revs = args.build.split(",") if args.build else [None]
    builds = [build(rev, tree / str(i)) for i, rev in enumerate(revs)]
    names = ", ".join(b.name for b in builds)
    print(f"targets, bot vs bare Bolt floor, build {names}, {machine()}, {time.strftime('%Y-%m-%d %H:%M')}")
    runs = []
    for b in builds:
        modes = list(args.modes)
        if "split" in modes and not worker_command_exists(b.tree or ROOT):
            print(f"  split mode skipped for {b.name}: that build has no `incident-bot worker`")
            modes.remove("split")
        runs += [(b, mode) for mode in modes]
    grid: dict[str, dict[str, str]] = {}
    profiles: list[Path] = []
    for backend in args.backends:
        for b, mode in runs:  # builds side by side, backend after backend: the same noise for each
            name = title = f"{backend}, {mode}" + (f", {b.name}" if len(builds) > 1 else "")
            if args.settle:
                cores = await settle(0.3, args.settle)
                title += f" (other work on the machine at the start: {cores:.2f} cores)"
            b.use()
            outcome = await run(backend, mode, args)
            grid[name] = dict(report(title, outcome, args))
            profiles += outcome.profiles
    width = max(len(n) for n in grid) + 2
    print(f"\n  {'':{width}}" + "".join(f"{t:>6}" for t in args.only))
    for name, verdicts in grid.items():
        print(f"  {name:{width}}" + "".join(f"{verdicts.get(t, '-'):>6}" for t in args.only))
    print(
        f"targets: a. ack p50 <= floor + {A_MARGIN_MS:g} ms (1 sender); b. ack p99 < {B_P99_MS:g} ms "
        f"({args.senders} senders); c. >= {C_RATE:,.0f}/s acked and carried out for {args.seconds:g} s; "
        f"d. ack-to-effect p50 <= {D_P50_MS:g} ms at {args.rate:g}/s"
    )
    for file in profiles:
        print("\n" + summary(file, 12))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql", type=lambda s: s.split(","))
    parser.add_argument("--modes", default="serve,split", type=lambda s: s.split(","), help="serve, split")
    parser.add_argument("--senders", type=int, default=16, help="concurrent senders for b and c")
    parser.add_argument("--seconds", type=float, default=60, help="length of the sustained load (c)")
    parser.add_argument("--rate", type=float, default=300, help="the steady load for d, events/s")
    parser.add_argument("--rate-seconds", type=float, default=20, help="length of the steady load (d)")
    parser.add_argument("--rounds", type=int, default=300, help="requests to each server in a (x4 in b)")
    parser.add_argument("--only", default="a,b,c,d", type=lambda s: s.split(","), help="some of a,b,c,d")
    parser.add_argument("--profile", metavar="DIR", help="py-spy the bot during a, c and d into DIR")
    parser.add_argument(
        "--settle", type=float, default=0, metavar="S", help="wait up to S s for a quiet machine before each"
    )
    parser.add_argument(
        "--build",
        metavar="REV",
        help="run the bot of this commit (REV,REV: each, side by side), not the work tree",
    )
    args = parser.parse_args()
    if set(args.modes) - set(MODES) or set(args.only) - set("abcd"):
        parser.error("--modes takes serve,split and --only a,b,c,d")
    if args.senders < 1 or args.rounds < 1 or args.seconds <= 0 or args.rate <= 0:
        parser.error("--senders, --rounds, --seconds and --rate must be positive")
    with tempfile.TemporaryDirectory() as tree:
        asyncio.run(main(args, Path(tree)))
