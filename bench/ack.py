"""Ack latency: signed request → Slack's 200, for the bot and for a bare Bolt app (the floor).

python bench/ack.py [--rounds 400] [--runs 3]

Kinds: `/incident help`, a message event in an incident channel, a 📌 reaction. Requests to the bot
and the floor are interleaved in one run, on the same machine and emulator.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
from pathlib import Path

import aiohttp
from _support import (
    bot_server,
    command_body,
    event_body,
    floor_server,
    machine,
    median,
    open_incident,
    percentile,
    post,
    workspace,
)

KINDS = ("help", "message", "reaction")


async def run_once(rounds: int, kinds: tuple[str, ...] = KINDS) -> dict[tuple[str, str], list[float]]:
    emu = await workspace()
    with tempfile.TemporaryDirectory() as tmp:
        bot = await bot_server(emu, Path(tmp), f"sqlite:///{tmp}/bench.db").start()
        floor = await floor_server(emu, Path(tmp)).start()
        try:
            channel = await open_incident(emu, bot.url)
            ch = emu.channel(channel)
            assert ch is not None
            times: dict[tuple[str, str], list[float]] = {(t, k): [] for t in ("bot", "floor") for k in KINDS}
            async with aiohttp.ClientSession() as session:
                for i in range(rounds + 50):  # the first 50 rounds warm up
                    msg = emu.state.add_message(ch, "U0ALICE", f"observation {i}", log=False)
                    message = {**emu.state.message_dict(msg), "channel": channel, "channel_type": "channel"}
                    reaction = {
                        "type": "reaction_added",
                        "user": "U0SCRIBE",
                        "reaction": "pushpin",
                        "item_user": "U0ALICE",
                        "item": {"type": "message", "channel": channel, "ts": msg.ts},
                        "event_ts": msg.ts,
                    }
                    bodies = {
                        "help": command_body("U0ALICE", channel, "help", emu.url + "respond/bench"),
                        "message": event_body(message, f"EvM{i:06d}"),
                        "reaction": event_body(reaction, f"EvR{i:06d}"),
                    }
                    for kind in kinds:
                        targets = [("bot", bot.url), ("floor", floor.url)]
                        random.shuffle(targets)
                        for name, url in targets:
                            status, elapsed = await post(session, url, *bodies[kind])
                            assert status == 200, (name, kind, status)
                            if i >= 50:
                                times[(name, kind)].append(elapsed)
        finally:
            await bot.stop()
            await floor.stop()
            await emu.stop()
    return times


async def main(rounds: int, runs: int, kinds: tuple[str, ...]) -> None:
    print(f"ack latency, {rounds} rounds x {runs} runs on {machine()}")
    results = [await run_once(rounds, kinds) for _ in range(runs)]
    print(f"{'kind':10} {'floor p50':>10} {'bot p50':>10} {'ratio':>6} {'floor p99':>10} {'bot p99':>10}")
    for kind in kinds:
        fp50 = median([percentile(r[("floor", kind)], 50) for r in results]) * 1000
        bp50 = median([percentile(r[("bot", kind)], 50) for r in results]) * 1000
        fp99 = median([percentile(r[("floor", kind)], 99) for r in results]) * 1000
        bp99 = median([percentile(r[("bot", kind)], 99) for r in results]) * 1000
        print(f"{kind:10} {fp50:9.2f}ms {bp50:9.2f}ms {bp50 / fp50:5.2f}x {fp99:9.2f}ms {bp99:9.2f}ms")
    print("(medians over runs of each run's p50 and p99; target: ratio <= 1.2, bot p99 < 100 ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--kinds", default=",".join(KINDS), help="comma-separated subset of help,message,reaction"
    )
    args = parser.parse_args()
    asyncio.run(main(args.rounds, args.runs, tuple(args.kinds.split(","))))
