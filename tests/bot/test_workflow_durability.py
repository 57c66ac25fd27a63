"""A workflow's steps happen once each, in order, across SIGKILL and replicas: real `incident-bot serve`
processes (and their worker children) against the emulator, Slack holding one step's call in flight."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from slack_emulator import SlackDriver, SlackEmulator
from slack_emulator.faults import Hold
from storage.db import Database
from tests.harness import truncate_all
from tests.processes import serve, terminate
from tests.slack_spec import assert_calls_conform

SECRET = "workflow-durability-secret"
TOPIC = "Bridge open for {{ incident.number }}"
POLICY = f"""\
announce_channel = "C0INCIDENTS"

[[escalation.levels]]
name = "L1"
users = ["U0ONCALL"]
after = "0s"

[[workflows]]
name = "sev1-bridge"
on = "declared"
if = {{ severity = "sev1" }}
do = [
  {{ post = "wf step 1 for {{{{ incident.number }}}}" }},
  {{ invite = ["U0ANA"] }},
  {{ topic = "{TOPIC}" }},
  {{ post = "wf step 4 for {{{{ incident.number }}}}" }},
  {{ post = "wf step 5 for {{{{ incident.number }}}}" }},
]
"""
POSTS = ("wf step 1", "wf step 4", "wf step 5")


def _workspace(emu: SlackEmulator) -> tuple[str, str]:
    emu.add_channel("incidents", channel_id="C0INCIDENTS", members=["U0BOT"])
    general = emu.add_channel("general", channel_id="C0GENERAL", members=["U0BOT"])
    alice = emu.add_user("alice", user_id="U0ALICE")
    emu.add_user("oncall", user_id="U0ONCALL")
    emu.add_user("ana", user_id="U0ANA")
    return general, alice


def _children(pid: int) -> list[int]:
    """The live child processes of `pid` (serve's worker), from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text() if entry.isdigit() else ""
        except OSError:
            continue
        if stat:
            state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
            if int(ppid) == pid and state != "Z":
                found.append(int(entry))
    return found


async def _kill_all(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL serve's worker child and serve itself: no shutdown code runs in either."""
    children = _children(proc.pid)
    assert children, "serve runs its worker as a child"
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    for _ in range(200):
        if all(_gone(pid) for pid in children):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the worker {children} outlived SIGKILL")


def _gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] == "Z"


def _incident_channels(emu: SlackEmulator) -> list[str]:
    return [c.id for c in emu.state.channels.values() if c.name.startswith("incident-")]


def _posted(emu: SlackEmulator, channel: str, text: str) -> list[dict[str, Any]]:
    return [m for m in emu.messages(channel) if text in (m.get("text") or "")]


def _invites_of(emu: SlackEmulator, user: str, channel: str) -> int:
    return sum(
        1
        for c in emu.calls_to("conversations.invite")
        if c.response.get("ok")
        and c.params.get("channel") == channel
        and user in str(c.params.get("users", "")).split(",")
    )


async def _timeline(database_url: str, channel: str) -> list[str]:
    db = Database(database_url)
    try:
        async with db.session() as s:
            rows = await s.execute(
                text(
                    "SELECT t.text FROM timeline_entries t JOIN incidents i ON i.id = t.incident_id"
                    " WHERE i.channel_id = :c AND t.kind = 'workflow'"
                ),
                {"c": channel},
            )
            return list(rows.scalars())
    finally:
        await db.dispose()


async def _held_topics(emu: SlackEmulator) -> Hold:
    """Lets the declaration's own topic through and holds the next one: the workflow's third step."""
    declaration, step = emu.hold("conversations.setTopic"), emu.hold("conversations.setTopic")
    await asyncio.wait_for(declaration.arrived.wait(), 20)
    declaration.release()
    return step


def _check_once_in_order(emu: SlackEmulator, channel: str, number: str) -> None:
    """Every step's effect exactly once, the posts in the order `do` lists them."""
    for said in POSTS:
        assert len(_posted(emu, channel, f"{said} for {number}")) == 1, (said, emu.messages(channel))
    texts = [m.get("text") or "" for m in emu.messages(channel)]
    at = [next(i for i, t in enumerate(texts) if said in t) for said in POSTS]
    assert at == sorted(at), texts
    assert _invites_of(emu, "U0ANA", channel) == 1, "the invite, done before the kill, is not done again"
    assert "U0ANA" in (emu.channel(channel).members if emu.channel(channel) else [])  # type: ignore[union-attr]
    topic = emu.channel(channel).topic["value"]  # type: ignore[union-attr]
    assert topic == f"Bridge open for {number}", topic


async def test_a_workflow_killed_mid_run_resumes_without_repeating_a_step(
    tmp_path: Path, database_url: str
) -> None:
    (tmp_path / "incident-bot.toml").write_text(POLICY)
    async with SlackEmulator() as emu:
        general, alice = _workspace(emu)
        proc, port = await serve(emu, tmp_path, SECRET, database_url=database_url)
        try:
            async with SlackDriver(emu, f"http://127.0.0.1:{port}/slack/events", SECRET) as slack:
                assert (await slack.command(alice, general, "declare sev1 Payments are down")).ok
            step = await _held_topics(emu)
            await asyncio.wait_for(step.arrived.wait(), 20)
            [channel] = _incident_channels(emu)
            # Mid-run: steps 1 and 2 are done, step 3's call is in flight, 4 and 5 are still to come.
            assert len(_posted(emu, channel, "wf step 1")) == 1 and _invites_of(emu, "U0ANA", channel) == 1
            assert not _posted(emu, channel, "wf step 4")
            await _kill_all(proc)
            step.release()  # Slack carries the lost call out: setting the same topic again changes nothing
            proc, _ = await serve(emu, tmp_path, SECRET, database_url=database_url, port=port)
            await emu.wait_for(lambda: _posted(emu, channel, "wf step 5"), timeout=40)
            await asyncio.sleep(1.5)  # a step done twice would show by now
        finally:
            await terminate(proc)
        _check_once_in_order(emu, channel, "INC-1")
        [entry] = await _timeline(database_url, channel)
        parts = [
            "wf step 1",
            "invited <@U0ANA>",
            "set the topic to “Bridge open for INC-1”",
            "wf step 4",
            "wf step 5",
        ]
        assert all(entry.count(p) == 1 for p in parts), entry
        assert [entry.index(p) for p in parts] == sorted(entry.index(p) for p in parts), entry
    assert_calls_conform(emu.calls)


async def test_two_replicas_run_each_step_once(tmp_path: Path, pg_database: str | None) -> None:
    if pg_database is None:
        pytest.skip("PostgreSQL not reachable at TEST_DATABASE_URL or 127.0.0.1:5432 (required under CI)")
    await truncate_all(pg_database)
    (tmp_path / "incident-bot.toml").write_text(POLICY)
    async with SlackEmulator() as emu:
        general, alice = _workspace(emu)
        replicas = [await serve(emu, tmp_path, SECRET, database_url=pg_database) for _ in range(2)]
        urls = [f"http://127.0.0.1:{port}/slack/events" for _, port in replicas]
        emu.inject("conversations.invite", status=503, times=2)  # retried from that step, by either replica
        try:
            for n in range(4):
                async with SlackDriver(emu, urls[n % 2], SECRET) as slack:
                    assert (await slack.command(alice, general, f"declare sev1 Replica test {n}")).ok

            def done() -> bool:
                channels = _incident_channels(emu)
                return len(channels) == 4 and all(_posted(emu, c, "wf step 5") for c in channels)

            await emu.wait_for(done, timeout=40)
            await asyncio.sleep(2)  # a step another replica repeated would show by now
        finally:
            for proc, _ in replicas:
                await terminate(proc)
        numbers = {}
        for channel in _incident_channels(emu):
            [first] = _posted(emu, channel, "wf step 1 for ")
            numbers[channel] = first["text"].split(" for ")[-1].split()[0].strip("*_")
        assert sorted(numbers.values()) == [f"INC-{n}" for n in range(1, 5)], numbers
        for channel, number in numbers.items():
            _check_once_in_order(emu, channel, number)
            assert len(await _timeline(pg_database, channel)) == 1
