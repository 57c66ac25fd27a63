"""`Permission` is the one list: `[permissions]` takes exactly its names, with its defaults, and the
README's example of `[permissions]` shows exactly those, so the docs cannot drift from the code."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from config.permissions import Permission
from config.policy import Permissions, Policy
from config.policy_file import policy_from_dict

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_permissions() -> dict[str, str]:
    section = README.read_text().split("### Who may do what", 1)[1].split("\n### ", 1)[0]
    [block] = re.findall(r"```toml\n(.*?)```", section, flags=re.S)
    table = dict(tomllib.loads(block)["permissions"])
    table.pop("responders_usergroup", None)
    return table


def test_the_policy_takes_each_permission_with_its_default() -> None:
    assert set(Permissions.model_fields) == {p.value for p in Permission} | {"responders_usergroup"}
    defaults = Policy().permissions
    assert {p.value: defaults.who(p) for p in Permission} == {p.value: p.default for p in Permission}
    flipped = {p.value: "anyone" if p.default == "responders" else "responders" for p in Permission}
    policy = policy_from_dict({"permissions": flipped})
    assert {p.value: policy.permissions.who(p) for p in Permission} == flipped


def test_the_readme_lists_exactly_the_permissions_with_their_defaults() -> None:
    assert _readme_permissions() == {p.value: p.default for p in Permission}


def test_the_example_policy_file_lists_exactly_the_permissions_with_their_defaults() -> None:
    example = tomllib.loads((README.parent / "incident-bot.example.toml").read_text())["permissions"]
    assert example == {p.value: p.default for p in Permission}
