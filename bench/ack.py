"""Ack latency with concurrent senders: signed request → Slack's 200, bot vs a bare Bolt app (the floor).

python bench/ack.py [--rounds 400] [--runs 3] [--senders 16] [--kinds note,message,reaction]

Kinds: `/incident note <text>` in the incident channel, a message event there and a 📌 reaction; all
three change state, so the bot stores each in its inbox (durably) before it answers. `help` (read-only,
answered directly, not stored) can be added with --kinds. `--senders` clients run at once, each
sending its share of the rounds one after the other; in each round, for each kind, the requests to
the bot and to the floor go in random order. Same run, same machine, same emulator.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import random
import tempfile
from pathlib import Path
from typing import Any

import aiohttp
from _support import (
    bot_server,
    command_body,
    event_body,
    floor_server,
    inbox_drained,
    machine,
    median,
    open_incident,
    percentile,
    post,
    workspace,
)

KINDS = ("note", "message", "reaction")  # the default: state-changing, stored before the ack
OPTIONAL_KINDS = ("help",)  # read-only: answered directly
STORED_AS = {"note": "note", "message": "message", "reaction": "reaction_added"}  # the inbox row's op
WARMUP = 50  # rounds before the measured ones (shared among the senders)
TARGET_RATIO, TARGET_P99_MS, TARGET_SENDERS = 1.5, 50.0, 16

Times = dict[tuple[str, str], list[float]]


def shares(total: int, senders: int) -> list[int]:
    """`total` rounds split as evenly as possible among `senders`."""
    return [total // senders + (1 if s < total % senders else 0) for s in range(senders)]


async def run_once(rounds: int, senders: int, kinds: tuple[str, ...]) -> Times:
    emu = await workspace()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        bot = await bot_server(emu, Path(tmp), url).start()
        floor = await floor_server(emu, Path(tmp)).start()
        try:
            channel = await open_incident(emu, bot.url)
            ch = emu.channel(channel)
            assert ch is not None
            times: Times = {(t, k): [] for t in ("bot", "floor") for k in kinds}
            numbers = itertools.count()  # one per round, across senders: unique event ids and texts

            def body(kind: str, i: int, msg: Any) -> tuple[bytes, str]:
                if kind in ("note", "help"):
                    text = f"note observation {i}" if kind == "note" else "help"
                    respond = emu.state.response_url("U0ALICE", channel)
                    trigger = emu.state.issue_trigger("U0ALICE")
                    return command_body("U0ALICE", channel, text, respond, trigger)
                if kind == "message":
                    message = {**emu.state.message_dict(msg), "channel": channel, "channel_type": "channel"}
                    return event_body(message, f"EvM{i:07d}")
                reaction = {
                    "type": "reaction_added",
                    "user": "U0SCRIBE",
                    "reaction": "pushpin",
                    "item_user": "U0ALICE",
                    "item": {"type": "message", "channel": channel, "ts": msg.ts},
                    "event_ts": msg.ts,
                }
                return event_body(reaction, f"EvR{i:07d}")

            async def sender(session: aiohttp.ClientSession, share: int, record: bool) -> None:
                for _ in range(share):
                    i = next(numbers)
                    msg = emu.state.add_message(ch, "U0ALICE", f"observation {i}", log=False)
                    for kind in kinds:
                        request = body(kind, i, msg)
                        targets = [("bot", bot.url), ("floor", floor.url)]
                        random.shuffle(targets)
                        for name, target in targets:
                            status, elapsed = await post(session, target, *request)
                            assert status == 200, (name, kind, status)
                            if record:
                                times[(name, kind)].append(elapsed)

            async with contextlib.AsyncExitStack() as stack:
                sessions = [await stack.enter_async_context(aiohttp.ClientSession()) for _ in range(senders)]
                for total, record in ((WARMUP, False), (rounds, True)):
                    await asyncio.gather(
                        *(sender(s, n, record) for s, n in zip(sessions, shares(total, senders), strict=True))
                    )
            counts = await inbox_drained(url, set(STORED_AS.values()), timeout=120)
            _check_stored(counts, kinds, WARMUP + rounds)
        finally:
            await bot.stop()
            await floor.stop()
            await emu.stop()
    return times


def _check_stored(counts: dict[tuple[str, str], int], kinds: tuple[str, ...], sent: int) -> None:
    """Every state-changing request the bot acked must be a row in its inbox (and none failed)."""
    report = []
    for kind in kinds:
        op = STORED_AS.get(kind)
        if op is None:
            continue
        stored = sum(n for (o, _), n in counts.items() if o == op)
        done = counts.get((op, "done"), 0)
        report.append(f"{kind} {stored}/{sent} stored, {done} carried out")
        if stored != sent:
            raise RuntimeError(f"{kind}: {sent} acked but {stored} rows in the inbox (op {op!r})")
        if counts.get((op, "failed")):
            raise RuntimeError(f"{kind}: {counts[(op, 'failed')]} inbox rows failed")
    if report:
        print("  inbox after the run: " + "; ".join(report))


async def main(rounds: int, runs: int, senders: int, kinds: tuple[str, ...]) -> None:
    print(
        f"ack latency, {rounds} rounds x {runs} runs, {senders} concurrent senders "
        f"(+{WARMUP} warm-up rounds) on {machine()}"
    )
    results = []
    for _ in range(runs):
        results.append(await run_once(rounds, senders, kinds))
    print(f"{'kind':10} {'floor p50':>10} {'bot p50':>10} {'ratio':>6} {'floor p99':>10} {'bot p99':>10}")
    verdicts = []
    for kind in kinds:
        fp50 = median([percentile(r[("floor", kind)], 50) for r in results]) * 1000
        bp50 = median([percentile(r[("bot", kind)], 50) for r in results]) * 1000
        fp99 = median([percentile(r[("floor", kind)], 99) for r in results]) * 1000
        bp99 = median([percentile(r[("bot", kind)], 99) for r in results]) * 1000
        extra = " (not stored: read-only)" if kind not in STORED_AS else ""
        print(f"{kind:10} {fp50:9.2f}ms {bp50:9.2f}ms {bp50 / fp50:5.2f}x {fp99:9.2f}ms {bp99:9.2f}ms{extra}")
        if kind in STORED_AS:
            met = bp50 / fp50 <= TARGET_RATIO and bp99 < TARGET_P99_MS
            verdicts.append(f"{kind} {'met' if met else 'NOT met'}")
    print(
        "(medians over runs of each run's p50 and p99; "
        "a stored kind is acked only once its inbox row is committed)"
    )
    print(
        f"target: durable ack p50 <= {TARGET_RATIO}x the floor, p99 < {TARGET_P99_MS:.0f} ms "
        f"with {TARGET_SENDERS} concurrent senders"
    )
    if verdicts:
        note = "" if senders == TARGET_SENDERS else f" (this run: {senders} senders, not {TARGET_SENDERS})"
        print("  " + ", ".join(verdicts) + note)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=400, help="measured rounds, split among the senders")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--senders", type=int, default=TARGET_SENDERS, help="concurrent senders")
    parser.add_argument(
        "--kinds",
        default=",".join(KINDS),
        help=f"comma-separated subset of {','.join(KINDS + OPTIONAL_KINDS)}",
    )
    args = parser.parse_args()
    kinds = tuple(args.kinds.split(","))
    unknown = set(kinds) - set(KINDS + OPTIONAL_KINDS)
    if unknown:
        parser.error(f"unknown kinds: {','.join(sorted(unknown))}")
    if args.senders < 1 or args.rounds < args.senders:
        parser.error("need --senders >= 1 and --rounds >= --senders")
    asyncio.run(main(args.rounds, args.runs, args.senders, kinds))
