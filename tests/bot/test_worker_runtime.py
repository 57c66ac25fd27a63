"""The parts of the web/worker split that need no second process: readiness by role, the worker's
probes, SQLite's durability settings, the cross-process wake-up, and one /metrics from two processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import text

from bot.runtime import Bot, Role
from bot.supervisor import merged
from config.policy_file import policy_from_dict
from config.settings import Settings
from runtime.clock import FakeClock
from runtime.metrics import Metrics
from slack_emulator import SlackEmulator
from storage import migrate
from storage.db import Database
from storage.inbox import NewItem
from storage.inbox_writer import InboxWriter
from storage.wakeup import PgListener, SqliteWatch
from tests.harness import SIGNING_SECRET


@pytest.fixture
async def emu() -> AsyncIterator[SlackEmulator]:
    async with SlackEmulator() as emu:
        yield emu


async def _served(bot: Bot, app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def _get(url: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        body = await resp.text()
        return resp.status, (await resp.json())["status"] if "json" in resp.content_type else body


def _bot(emu: SlackEmulator, database_url: str, clock: FakeClock, role: Role) -> Bot:
    settings = Settings(
        slack_bot_token=emu.bot_token,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=emu.base_url,
        database_url=database_url,
        _env_file=None,
    )
    policy = policy_from_dict({"announce_channel": "C0INCIDENTS"})
    return Bot(settings, policy, clock=clock, scheduler=False, role=role)


@pytest.mark.parametrize(("role", "late"), [("web", 200), ("all", 503)])
async def test_a_web_process_is_ready_without_any_paging_tick(
    emu: SlackEmulator, tmp_path: Path, role: Role, late: int
) -> None:
    clock = FakeClock()
    bot = _bot(emu, f"sqlite:///{tmp_path / 'bot.db'}", clock, role)
    await bot.start()
    runner, url = await _served(bot, bot.web_app())
    try:
        assert await bot.check_slack()
        assert (await _get(url + "/readyz"))[0] == 200
        clock.advance(timedelta(minutes=5))  # no tick completed in all that time
        assert (await _get(url + "/readyz"))[0] == late
    finally:
        await runner.cleanup()
        await bot.stop()


async def test_the_worker_answers_probes_on_its_own_port_and_is_ready_while_it_ticks(
    emu: SlackEmulator, tmp_path: Path
) -> None:
    clock = FakeClock()
    bot = _bot(emu, f"sqlite:///{tmp_path / 'bot.db'}", clock, "worker")
    await bot.start()
    runner, url = await _served(bot, bot.probe_app())
    try:
        assert await _get(url + "/healthz") == (200, "ok")
        assert await _get(url + "/readyz") == (200, "ok"), "no auth.test is needed to be ready"
        clock.advance(timedelta(seconds=61))
        assert await _get(url + "/readyz") == (503, "the paging tick has not completed for 61 s (bound 60 s)")
        await bot.tick()
        assert await _get(url + "/readyz") == (200, "ok")
        status, body = await _get(url + "/metrics")
        assert status == 200 and "incident_bot_inbox_done_seconds_count" in body
        async with aiohttp.ClientSession() as session, session.post(url + "/slack/events") as resp:
            assert resp.status == 404, "a worker serves no Slack requests"
    finally:
        await runner.cleanup()
        await bot.stop()


async def test_sqlite_connections_commit_to_disk_and_wait_for_the_other_process(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'bot.db'}")
    try:
        async with db.engine.connect() as conn:
            pragmas = [
                (await conn.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("synchronous", "journal_mode", "busy_timeout")
            ]
        assert pragmas == [2, "wal", 5000], "synchronous=FULL (2) in WAL mode, waiting for the other writer"
        in_thread = await db.run(lambda conn: conn.exec_driver_sql("PRAGMA synchronous").scalar())
        assert in_thread == 2, "the thread's engine (inbox group commits, the worker's claims) too"
    finally:
        await db.dispose()


def _item(n: int, key: str) -> NewItem:
    return NewItem(f"idem-{n}", key, "note", "{}", "T0EMULATOR")


async def _until(condition: Callable[[], bool]) -> None:
    """Wait (10 s at most) until `condition` holds: the wake-up runs in the background."""
    async with asyncio.timeout(10):
        while True:
            if condition():
                return
            await asyncio.sleep(0.01)


async def test_a_worker_on_sqlite_hears_of_rows_another_process_stored(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bot.db'}"
    serving, working = Database(url), Database(url)  # one engine per process
    await migrate.upgrade(serving)
    writer, now = InboxWriter(serving), FakeClock().now()
    await writer.add_many([_item(0, "C0")], now)  # stored before: it wakes nobody
    seen: list[set[str] | None] = []
    watch = SqliteWatch(working, seen.append)
    watch.start()
    try:
        await _until(lambda: watch.newest is not None)
        await writer.add_many([_item(1, "C1"), _item(2, "C2"), _item(3, "C1")], now)
        await _until(lambda: len(seen) >= 1)
        assert seen == [{"C1", "C2"}]
    finally:
        await watch.stop()
        await serving.dispose()
        await working.dispose()


async def test_a_worker_on_postgresql_is_notified_by_the_commit_and_listens_again_after_a_cut(
    pg_database: str | None,
) -> None:
    if pg_database is None:
        pytest.skip("PostgreSQL not reachable at TEST_DATABASE_URL or 127.0.0.1:5432 (required under CI)")
    from tests.harness import truncate_all

    db = Database(pg_database)
    await migrate.upgrade(db)
    await truncate_all(pg_database)
    seen: list[set[str] | None] = []
    listener = PgListener(db, seen.append)
    listener.start()
    writer, now = InboxWriter(db), FakeClock().now()
    try:
        await asyncio.wait_for(listener.listening.wait(), 10)
        assert seen == [None], "on (re)connecting it looks once for rows stored meanwhile"
        await writer.add_many([_item(1, "C1"), _item(2, "C2"), _item(3, "C1")], now)
        await _until(lambda: len(seen) >= 3)
        assert sorted(sorted(keys or ()) for keys in seen[1:]) == [["C1"], ["C2"]]
        await writer.add_many([_item(1, "C1")], now)  # a redelivery stores nothing: no notification
        async with db.engine.connect() as conn:  # the LISTEN connection is cut
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND query LIKE 'LISTEN%'"
                )
            )
        await _until(lambda: not listener.listening.is_set())
        await asyncio.wait_for(listener.listening.wait(), 10)
        assert seen[3:] == [None]
        await writer.add_many([_item(4, "C4")], now)
        await _until(lambda: len(seen) >= 5)
        assert seen[4] == {"C4"}
    finally:
        await listener.stop()
        await db.dispose()


def test_one_metrics_page_for_serve_and_its_worker_child() -> None:
    web_side, worker_side = Metrics(), Metrics()
    web_side.inbox_accepted.labels("note").inc(3)
    worker_side.inbox_done_seconds.observe(0.02)
    worker_side.pages_sent.labels("L1").inc()
    for side in (web_side, worker_side):
        side.slack_calls.labels("chat.postMessage").inc(2)
        side.open_incidents.labels("SEV1").set(4)  # both read it from the database
    page = merged(web_side.render(), worker_side.render()).decode()
    assert 'incident_bot_inbox_accepted_total{op="note"} 3.0' in page
    assert 'incident_bot_pages_sent_total{level="L1"} 1.0' in page
    assert 'incident_bot_slack_api_calls_total{method="chat.postMessage"} 4.0' in page
    assert 'incident_bot_open_incidents{severity="SEV1"} 4.0' in page
    assert "incident_bot_inbox_done_seconds_count 1.0" in page
    assert page.count("# TYPE incident_bot_pages_sent_total counter") == 1


def test_compose_runs_web_replicas_behind_the_proxy_and_worker_replicas_apart() -> None:
    import yaml

    services = yaml.safe_load((Path(__file__).parents[2] / "docker-compose.yml").read_text())["services"]
    web_side, worker_side = services["bot"], services["worker"]
    assert web_side["command"][1:] == ["serve", "--http", "--no-worker", "--port", "3000"]
    assert worker_side["command"][1:] == ["worker", "--port", "3001"]
    assert web_side["deploy"]["replicas"] == worker_side["deploy"]["replicas"] == 2
    assert services["proxy"]["command"][-1] == "bot:3000", "only the web replicas take Slack's requests"
    assert "3001/healthz" in worker_side["healthcheck"]["test"][-1], "the image's check asks port 3000"
    assert worker_side["environment"]["DATABASE_URL"] == web_side["environment"]["DATABASE_URL"]


async def test_a_second_worker_on_one_sqlite_file_waits_until_the_first_has_stopped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.worker import _sole_worker

    path, stop = str(tmp_path / "bot.db"), asyncio.Event()
    entered: list[str] = []

    async def worker(name: str) -> bool:
        async with _sole_worker(path, stop) as mine:
            entered.append(name)
            if name == "first":
                await _until(lambda: "another worker runs on" in caplog.text)
            return mine

    first = asyncio.create_task(worker("first"))
    await _until(lambda: entered == ["first"])
    second = asyncio.create_task(worker("second"))
    assert await first and await second
    assert entered == ["first", "second"], "the second took over the claims only after the first stopped"

    async with _sole_worker(path, stop):
        stop.set()
        assert not await worker("stopped while waiting")
