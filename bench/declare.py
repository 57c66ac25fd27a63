"""Declare cost: the Web API calls one declaration makes, and the time until the initial post lands.

python bench/declare.py [--declarations 30] [--latencies 0,0.05]

The emulator can answer every Web API call after a fixed delay (Slack's own latency); the time from
the command to the initial post is then compared with that delay: the bot should add little to the
round trips it cannot avoid (conversations.create, then chat.postMessage).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

from _support import SECRET, bot_server, machine, workspace

from slack_emulator import SlackDriver

POLICY = """
[[escalation.levels]]
name = "L1"
title = "On-call engineer"
users = ["U0SCRIBE"]
after = "0s"
"""


async def run(latency: float, declarations: int) -> tuple[float, Counter[str], list[str]]:
    emu = await workspace()
    with tempfile.TemporaryDirectory() as tmp:
        bot = await bot_server(emu, Path(tmp), f"sqlite:///{tmp}/bench.db", POLICY).start()
        try:
            async with SlackDriver(emu, bot.url, SECRET) as slack:
                await slack.command("U0ALICE", "C0GENERAL", "help")  # Bolt's one-off auth.test
                await asyncio.sleep(0.5)
                emu.latency = latency
                times, per_declaration = [], []
                calls: Counter[str] = Counter()
                for i in range(declarations):
                    emu.reset_calls()
                    started = time.time()  # the emulator stamps each call it answers with time.time()
                    await slack.command("U0ALICE", "C0GENERAL", f"declare sev2 Bench {i}")
                    initial = await emu.wait_for(
                        lambda: next(
                            (
                                c for c in emu.calls
                                if c.method == "chat.postMessage" and "declared" in str(c.params.get("text"))
                                and c.params.get("channel") != "C0INCIDENTS"
                            ),
                            None,
                        ),
                        timeout=30,
                    )  # fmt: skip
                    times.append(initial.at - started)
                    await asyncio.sleep(max(0.3, latency * 12))  # let the rest (pin, announce, page) finish
                    per_declaration = [c.method for c in emu.calls]
                    calls.update(per_declaration)
        finally:
            await bot.stop()
            await emu.stop()
    return statistics.median(times), calls, per_declaration


async def main(declarations: int, latencies: list[float]) -> None:
    print(f"declare cost, {declarations} declarations per latency, on {machine()}")
    for latency in latencies:
        median, calls, last = await run(latency, declarations)
        floor = 2 * latency
        print(
            f"Slack latency {latency * 1000:4.0f} ms: command → initial post {median * 1000:6.1f} ms median "
            f"(2 unavoidable round trips = {floor * 1000:.0f} ms; "
            f"bot's own share {(median - floor) * 1000:.1f} ms)"
        )
    print(f"Web API calls per declaration ({sum(calls.values()) / declarations:.0f}):")
    for method, count in sorted(Counter(last).items()):
        print(f"  {count} × {method}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--declarations", type=int, default=30)
    parser.add_argument("--latencies", default="0,0.05")
    args = parser.parse_args()
    asyncio.run(main(args.declarations, [float(x) for x in args.latencies.split(",")]))
