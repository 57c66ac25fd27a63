"""The web view at scale: 10,000 incidents and 500,000 timeline entries; how fast each page answers.

python bench/web.py [--incidents 10000] [--entries 500000] [--requests 30] [--backends sqlite,postgresql]

For each backend: migrates a fresh database and fills it with bulk inserts (bench/_web_seed.py:
incidents over two years in workspace T0EMU, their timelines, one incident with 5,000 entries, status
updates, pages sent), starts `incident-bot serve --http` with the web view on, signs in as U0ALICE
through the emulator's Sign in with Slack, then times `--requests` requests of each page after a few
warm-ups and prints p50 and p95 against the issue's targets (p50: list and incident pages under 50 ms,
metrics under 200 ms; the Markdown download of the big incident's postmortem has none, it is reported).

For a page that misses its target, the same handler is run once more in this process with every SQL
statement timed, and the slow statements' plans (EXPLAIN QUERY PLAN / EXPLAIN ANALYZE) printed, along
with the time spent rendering the page and the postmortem draft (bench/_web_diagnose.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import yarl

# _support puts the repository first on sys.path: `web` below is the package, not this script
from _support import Server, bot_server, drop_pg, machine, percentile, pg_database, workspace
from _web_diagnose import explain_slow
from _web_seed import BIG_ENTRIES, NORMAL_ENTRIES, Seeded, fill

from services.reports import DRAFT_ENTRIES
from slack_emulator import SlackEmulator
from storage import migrate
from storage.db import Database
from web.routes import TIMELINE_PAGE
from web.session import SESSION_COOKIE

CLIENT_ID, CLIENT_SECRET = "3333.bench", "bench-client-secret"
WARMUP = 3


@dataclass(frozen=True)
class Page:
    """A page of the web view to time, and the p50 it should stay under."""

    name: str
    path: str
    target_ms: float | None  # None: no target, only reported


LAST_PART = -(-BIG_ENTRIES // TIMELINE_PAGE)  # the big incident's last timeline part


# signing in and timing the pages over HTTP


def pages(seeded: Seeded) -> list[Page]:
    """The pages timed, with the issue's targets."""
    return [
        Page("list, first page", "/ui/", 50),
        Page("list, filtered + sorted", "/ui/?severity=SEV2&status=resolved&q=checkout&sort=duration", 50),
        Page("list, page 150", "/ui/?page=150", 50),
        Page(f"incident, {BIG_ENTRIES:,} entries", f"/ui/incidents/{seeded.big}", 50),
        Page(
            f"incident, {BIG_ENTRIES:,}, part {LAST_PART}",
            f"/ui/incidents/{seeded.big}?part={LAST_PART}",
            50,
        ),
        Page(f"incident, {NORMAL_ENTRIES} entries", f"/ui/incidents/{seeded.normal}", 50),
        Page("metrics, 365 days", "/ui/metrics?days=365", 200),
        Page(f"postmortem.md, {BIG_ENTRIES:,}", f"/ui/incidents/{seeded.big}/postmortem.md", None),
    ]


async def sign_in(base: str, user: str) -> aiohttp.ClientSession:
    """A browser-like session signed in as `user` through the emulator's Sign in with Slack."""
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        async with session.get(base + "/ui/", allow_redirects=False) as resp:
            login = resp.headers["Location"]
        async with session.get(base + login, allow_redirects=False) as resp:
            authorize = resp.headers["Location"]
        if parse_qs(urlsplit(authorize).query).get("client_id") != [CLIENT_ID]:
            raise RuntimeError(f"sign-in went to {authorize}")
        async with session.get(yarl.URL(authorize).update_query(user=user), allow_redirects=False) as resp:
            callback = resp.headers["Location"]
        async with session.get(callback, allow_redirects=False) as resp:
            if resp.status != 302:
                raise RuntimeError(f"sign-in failed: {resp.status} {await resp.text()}")
    except BaseException:
        await session.close()
        raise
    if not any(c.key == SESSION_COOKIE for c in session.cookie_jar):
        await session.close()
        raise RuntimeError("no session cookie after signing in")
    return session


async def fetch(session: aiohttp.ClientSession, url: str) -> tuple[float, str]:
    """GET a page; seconds until the whole body arrived, and the body (a 200, or an error)."""
    started = time.perf_counter()
    async with session.get(url, allow_redirects=False) as resp:
        body = await resp.text()
    elapsed = time.perf_counter() - started
    if resp.status != 200:
        raise RuntimeError(f"GET {url}: {resp.status}")
    return elapsed, body


async def ready(bot: Server) -> None:
    """Wait until the bot has met its workspace (auth.test): signing in needs it."""
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            async with session.get(f"http://127.0.0.1:{bot.port}/readyz") as resp:
                if resp.status == 200:
                    return
            await asyncio.sleep(0.05)
    raise RuntimeError("the bot never became ready")


def check(page: Page, body: str, seeded: Seeded) -> None:
    """The page shows what was seeded (a fast empty page would prove nothing)."""
    path, query = urlsplit(page.path).path, parse_qs(urlsplit(page.path).query)
    if path.startswith("/ui/incidents/"):
        big = path.split("/")[3] == str(seeded.big)
        total = min(BIG_ENTRIES, seeded.entries) if big else NORMAL_ENTRIES
        if path.endswith("/postmortem.md"):  # the download: the whole draft, every entry a table row
            timeline = body.partition("\n## Timeline\n")[2].partition("\n## ")[0]
            rows = sum(line.startswith("| ") for line in timeline.splitlines()) - 2  # less the heading
            if rows != total:
                raise RuntimeError(f"{page.path}: {rows} timeline rows in the draft, {total} seeded")
            return
        part = int(query.get("part", ["1"])[0])
        expected = max(min(total, part * TIMELINE_PAGE) - (part - 1) * TIMELINE_PAGE, 0)
        found = body.count('<li class="entry"')
        if found != expected:
            raise RuntimeError(f"{page.path}: {found} timeline entries shown, {expected} expected")
        if f"({total} entries)" not in body:
            raise RuntimeError(f"{page.path}: the heading does not say ({total} entries)")
        draft = body.partition('<article class="postmortem">')[2]  # cut to DRAFT_ENTRIES timeline rows
        rows = draft.partition("<h2>Timeline</h2>")[2].partition("<h2>")[0].count("<tr>") - 1
        if rows != min(total, DRAFT_ENTRIES):
            raise RuntimeError(f"{page.path}: {rows} timeline rows in the draft on the page")
    elif path.startswith("/ui/metrics"):
        if 'class="mark"' not in body:
            raise RuntimeError(f"{page.path}: no bars")
    elif 'class="row"' not in body and "page=" not in page.path:
        raise RuntimeError(f"{page.path}: no incident listed")


async def time_pages(
    base: str, session: aiohttp.ClientSession, seeded: Seeded, requests: int
) -> tuple[float, dict[str, list[float]]]:
    """The first list request's seconds (the person's private channels asked from Slack), then each
    page's `requests` timings after WARMUP untimed ones."""
    cold, _ = await fetch(session, base + "/ui/")
    samples: dict[str, list[float]] = {}
    for page in pages(seeded):
        _, body = await fetch(session, base + page.path)
        check(page, body, seeded)
        for _ in range(WARMUP - 1):
            await fetch(session, base + page.path)
        samples[page.name] = [(await fetch(session, base + page.path))[0] for _ in range(requests)]
    return cold, samples


# one backend


async def run(backend: str, incidents: int, entries: int, requests: int) -> dict[str, tuple[float, float]]:
    """Fill, serve, sign in, time; the p50 and p95 (ms) per page."""
    tmp = tempfile.TemporaryDirectory()
    url = f"sqlite:///{tmp.name}/bench.db" if backend == "sqlite" else await pg_database()
    db = Database(url)
    emu: SlackEmulator | None = None
    bot: Server | None = None
    try:
        await migrate.upgrade(db)
        seeded = await fill(db, incidents, entries)
        print(
            f"{backend}: {seeded.incidents:,} incidents, {seeded.entries:,} timeline entries, "
            f"{seeded.updates:,} updates, {seeded.pages:,} pages, {len(seeded.private)} private "
            f"(seeded in {seeded.seconds:.1f} s)"
        )
        emu = await workspace()
        emu.register_app(CLIENT_ID, CLIENT_SECRET)
        for channel, members in seeded.private.items():
            emu.add_channel(channel.lower(), channel_id=channel, members=sorted(members), is_private=True)
        bot = bot_server(emu, Path(tmp.name), url)
        bot.env.update(
            {
                "SLACK_CLIENT_ID": CLIENT_ID,
                "SLACK_CLIENT_SECRET": CLIENT_SECRET,
                "INCIDENT_BOT_SESSION_SECRET": "bench-session-secret-of-32-bytes-or-more",
            }
        )
        await bot.start()
        await ready(bot)
        base = f"http://127.0.0.1:{bot.port}"
        session = await sign_in(base, "U0ALICE")
        try:
            cold, samples = await time_pages(base, session, seeded, requests)
        finally:
            await session.close()
        rss = bot.rss_mb()
        await bot.stop()
        results: dict[str, tuple[float, float]] = {}
        slow = []
        print(f"  {'page':<32}{'p50':>9}{'p95':>9}  target (p50)")
        for page in pages(seeded):
            p50, p95 = (percentile(samples[page.name], q) * 1000 for q in (50, 95))
            results[page.name] = (p50, p95)
            if page.target_ms is None:
                verdict = "none"
            else:
                verdict = f"< {page.target_ms:.0f} ms: " + ("met" if p50 < page.target_ms else "NOT MET")
                if p50 >= page.target_ms:
                    slow.append(page)
            print(f"  {page.name:<32}{p50:7.1f}ms{p95:7.1f}ms  {verdict}")
        asked = f"the person's private channels asked, {len(seeded.private)} private incidents"
        print(f"  first list request ({asked}): {cold * 1000:.1f} ms")
        print(f"  RSS of the serving process after the run: {rss:.0f} MB")
        if slow:
            print("  where the time goes, for the pages that missed:")
            for page in slow:
                await explain_slow(db, seeded, page.name, page.path, page.target_ms or 0.0)
        return results
    finally:
        if bot is not None:
            await bot.stop()
        if emu is not None:
            await emu.stop()
        await db.dispose()
        if backend == "postgresql":
            await drop_pg(url)
        tmp.cleanup()


async def main(incidents: int, entries: int, requests: int, backends: list[str]) -> None:
    """Each backend in turn, then one table of them all."""
    print(f"web view at scale on {machine()}; {requests} requests a page after {WARMUP} warm-ups")
    results = {backend: await run(backend, incidents, entries, requests) for backend in backends}
    targets = {p.name: p.target_ms for p in pages(Seeded(0, 0, 0, 0, 0, 0))}
    print("\n| Page | Target (p50) | " + " | ".join(f"{b} p50 / p95" for b in backends) + " |")
    print("| --- | --- |" + " --- |" * len(backends))
    for name, target in targets.items():
        cells = [f"{results[b][name][0]:.1f} / {results[b][name][1]:.1f} ms" for b in backends]
        shown = "none" if target is None else f"< {target:.0f} ms"
        print(f"| {name} | {shown} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--incidents", type=int, default=10_000)
    parser.add_argument("--entries", type=int, default=500_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    if args.incidents < 10 or args.entries < 2 * args.incidents + BIG_ENTRIES or args.requests < 1:
        parser.error("need 10 incidents or more, 2 timeline entries an incident plus 5,000, 1 request")
    asyncio.run(main(args.incidents, args.entries, args.requests, args.backends.split(",")))
