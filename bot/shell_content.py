"""The shell's fixed content: its help, the bundled demo script, the team and its escalation policy."""

from datetime import UTC, datetime, timedelta
from typing import Any

DEMO_SCRIPT = """\
# A SEV2 from declaration to postmortem draft, as Slack would drive it. The clock runs like a real
# one; `wait` moves it forward, and what falls due on the way happens on time.
# alice is on call (L1), bob is team lead (L2), carol the engineering manager (L3).
/incident declare sev2 Checkout is failing for EU customers
# L1 is paged by DM at once; a minute later alice acknowledges from the DM.
wait 1m
click 3 Acknowledge
cd #incident
/incident scribe <@U0BOB|bob>
wait 2m
say Seeing 502s from the payments gateway since the 02:55 deploy
react 6 pushpin
wait 3m
as @bob
say Gateway pods are OOM-killed after the deploy; rolling back
as @alice
/incident update identified Bad deploy of payments-gateway; rolling back
wait 15m
as @bob
say Rollback finished, error rate back to baseline
as @alice
/incident note Customer support confirms checkouts are going through again
# Who is on call: the primary rotation hands from alice to carol 40 minutes in (carol gets a DM with
# the incidents she inherits); dave covers a slot later on.
/incident oncall
/incident oncall override primary <@U0DAVE|dave> +2h +4h
/incident oncall overrides
# 30 minutes in, L2 (bob) is paged; 30 minutes after her update, alice is reminded to post one.
wait 15m
/incident update monitoring Error rate normal for 10 minutes
wait 10m
/incident resolve Rolled back payments-gateway 4.2.0; OOM from the new cache size
export
"""

HELP = """\
/incident <args>       run the slash command as the current user in the current channel
say <text>             post a message as the current user in the current channel (`@bob` mentions bob)
react <n> <emoji>      add a reaction to message #n (as numbered in the output)
unreact <n> <emoji>    remove it again
click <n> <button>     press a button (by its label) on message #n; a DM's only for its recipient
form                   show the form (modal) the bot opened for the current user
fill <field> <value>   fill in a field of that form (a choice by its value or name: `fill severity sev2`)
submit / cancel        submit the form / close it
as @user               act as another user (alice, bob, carol, dave)
people                 who is who: handles, user IDs and their escalation levels
cd <#channel>          switch channel; `cd #incident` picks the newest incident channel
wait <duration>        move the clock forward (e.g. 30m, 1h); what falls due on the way happens on time
export [INC-n]         print the postmortem draft of this channel's incident (or INC-n)
dms <@user>            show that person's direct messages from the bot
channels               list channels
install <team>         add a workspace (e.g. T0ACME) and install the app there with OAuth ("Add to Slack")
workspace <team>       act in another workspace (as its @alice in its #general)
help                   this text;  quit / exit / Ctrl-D leaves (Ctrl-C clears the line)"""

TEAM = (("alice", "Alice Ops"), ("bob", "Bob Lead"), ("carol", "Carol Manager"), ("dave", "Dave CTO"))
HANDOFF_IN = timedelta(minutes=40)  # carol takes over the primary rotation from alice this far in
SHIFT = timedelta(hours=8)


def policy(start: datetime) -> dict[str, Any]:
    """The shell's policy: L1 is whoever is on call on the `primary` rotation (alice, then carol from
    40 minutes after the shell starts), L2–L4 are fixed people."""
    handoff = (start + HANDOFF_IN - SHIFT).astimezone(UTC).replace(tzinfo=None, second=0, microsecond=0)
    return {
        "announce_channel": "C0INCIDENTS",
        "schedules": [
            {
                "name": "primary",
                "timezone": "UTC",
                "users": ["U0ALICE", "U0CAROL"],
                "shift": "8h",
                "handoff": handoff.isoformat(),
                "fallback": ["U0BOB"],
            }
        ],
        "escalation": POLICY_LEVELS,
    }


POLICY_LEVELS = {
    "levels": [
        {"name": "L1", "title": "On-call engineer", "schedule": "primary", "after": "0s"},
        {"name": "L2", "title": "Team lead", "users": ["U0BOB"], "after": "30m"},
        {"name": "L3", "title": "Engineering manager", "users": ["U0CAROL"], "after": "1h"},
        {"name": "L4", "title": "CTO/VP", "users": ["U0DAVE"], "after": "2h"},
    ]
}
