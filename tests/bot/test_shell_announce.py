"""The shell makes the channels a policy file announces in, `[[announce]]` rules' too."""

from __future__ import annotations

from bot.shell_people import add_strangers
from slack_emulator import SlackEmulator


def test_announce_rule_channels_exist_in_the_shells_workspace() -> None:
    emu = SlackEmulator()
    emu.add_channel("incidents", channel_id="C0INCIDENTS", members=["U0BOT"])
    policy = {
        "announce_channel": "C0INCIDENTS",
        "announce": [{"channel": "#exec-incidents", "severity": ["sev1"]}, {"channel": "C0CACHETEAM"}],
    }
    add_strangers(emu, policy)
    made = [emu.channel(c) for c in ("#exec-incidents", "C0CACHETEAM")]
    assert all(c is not None and c.has_member("U0BOT") for c in made)
    assert len([c for c in emu.state.channels.values() if not c.is_im]) == 3
    add_strangers(emu, policy)
    assert len([c for c in emu.state.channels.values() if not c.is_im]) == 3, "made once"
