"""Reading the policy file: TOML into a checked `Policy`, each `[workspaces."T…"]` table merged over
the top level, and every mistake said as `file: key: what is wrong`, one line each."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from config.errors import ConfigError
from config.keys import did_you_mean
from config.policy import Policy
from config.workflows import beyond, labels, merged
from domain.redact import redact_urls


def _key(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


_TEAM = re.compile(r"^[TE][A-Z0-9]{2,31}$")


def policy_from_dict(data: dict[str, Any], source: str = "config") -> Policy:
    """Validate a parsed TOML document; raise ConfigError naming the first bad key.

    `[workspaces."T…"]` tables override the top level for that workspace: tables merge key by key,
    anything else (arrays such as `escalation.levels` or `schedules`) replaces the top level's, except
    `workflows`, which add to the top level's and replace one by name.
    """
    data = dict(data)
    tables = data.pop("workspaces", {})
    if not isinstance(tables, dict):
        raise ConfigError(f"{source}: workspaces: expected tables named by team id")
    if "alertmanager_token_env" in data:
        # Merged into every workspace, one token would open them all.
        raise ConfigError(
            f"{source}: alertmanager_token_env: give each workspace its own, in its "
            '[workspaces."T…"] table (ALERTMANAGER_TOKEN is the token of a single workspace)'
        )
    base, kept, lines = _load(data, source, "")
    top_where = [f"workflows[{i}]" for i in kept]
    placed = {"": top_where}
    said = base.workflow_problems(top_where)
    lines += [f"{source}: {line}" for line in said]
    if isinstance(data.get("workflows"), list):  # the workspaces keep only the top level's that read
        data["workflows"] = [data["workflows"][i] for i in kept]
    workspaces: dict[str, Policy] = {}
    for team, table in tables.items():
        if not _TEAM.match(team):
            raise ConfigError(f"{source}: workspaces.{team}: not a Slack team id (like T0123ABCD)")
        if not isinstance(table, dict) or "workspaces" in table:
            raise ConfigError(f"{source}: workspaces.{team}: expected a table of policy keys")
        if isinstance(table.get("workflows"), list) and isinstance(data.get("workflows"), list):
            table = {**table, "workflows": merged(data["workflows"], table["workflows"])}
        prefix = f"workspaces.{team}."
        workspaces[team], kept, wrong = _load(_merged(data, table), source, prefix)
        where = placed[prefix] = labels(base.workflows, workspaces[team].workflows, prefix, kept, top_where)
        mistakes = beyond(said, workspaces[team].workflow_problems(where), prefix)
        lines += wrong + [f"{source}: {line}" for line in mistakes]
        name = workspaces[team].alertmanager_token_env
        shared = next(
            (t for t, p in workspaces.items() if t != team and name and p.alertmanager_token_env == name),
            None,
        )
        if shared:
            raise ConfigError(
                f"{source}: workspaces.{team}.alertmanager_token_env: {shared} names {name} too; "
                "each workspace needs its own token"
            )
    whole = base.model_copy(update={"workspaces": workspaces}) if workspaces else base
    if lines:
        error = ConfigError("\n".join(sorted(dict.fromkeys(lines), key=_entry)))
        error.partial = (whole, placed)
        raise error
    return whole


def _merged(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        both_tables = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = _merged(out[key], value) if both_tables else value
    return out


_ENTRY = re.compile(r"^.*?: (.*?)workflows\[(\d+)\]")


def _entry(line: str) -> tuple[str, int]:
    """A mistake's place, to say them in the order the file has them: (workspace, workflow)."""
    found = _ENTRY.match(line)
    return (found.group(1), int(found.group(2))) if found else (line, -1)


class _BadWorkflows(Exception):
    """Workflow entries that do not read: a line per mistake, and which entries."""

    def __init__(self, lines: list[str], indexes: set[int]) -> None:
        super().__init__("\n".join(lines))
        self.lines, self.indexes = lines, indexes


def _load(data: dict[str, Any], source: str, prefix: str) -> tuple[Policy, list[int], list[str]]:
    """The policy with the workflow entries that do not read left out, so what the others name is
    checked too: (policy, the indexes of the entries it has, a line per mistake in the rest)."""
    entries = data.get("workflows")
    everyone = list(range(len(entries))) if isinstance(entries, list) else []
    try:
        return _validate(data, source, prefix), everyone, []
    except _BadWorkflows as bad:
        kept = [i for i in everyone if i not in bad.indexes]
        try:
            policy = _validate({**data, "workflows": [entries[i] for i in kept]}, source, prefix)  # type: ignore[index]
        except ConfigError as exc:  # a mistake elsewhere in the policy as well
            raise ConfigError("\n".join([*bad.lines, str(exc)])) from None
        return policy, kept, bad.lines


def _validate(data: dict[str, Any], source: str, prefix: str) -> Policy:
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        # A misspelt key also leaves its field missing: the misspelling is the one to name.
        err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        if err["loc"][:1] == ("workflows",):
            # Workflows are said one line per mistake, each misspelling rather than what it left missing.
            misspelt = {e["loc"][:-1] for e in errors if e["type"] == "extra_forbidden"}
            # A list whose items failed is also too short, its failed items left out: the items say it.
            failed = {e["loc"][:n] for e in errors for n in range(len(e["loc"]))}
            shown = [
                e
                for e in errors
                if not (e["type"] == "missing" and e["loc"][:-1] in misspelt)
                and not (e["type"] == "too_short" and e["loc"] in failed)
            ]
            lines = [_said(e, source, prefix) for e in shown if e["loc"][:1] == ("workflows",)]
            indexes = {e["loc"][1] for e in errors if e["loc"][:1] == ("workflows",) and len(e["loc"]) > 1}
            if all(isinstance(i, int) for i in indexes) and indexes:
                raise _BadWorkflows(list(dict.fromkeys(lines)), indexes) from None
            raise ConfigError("\n".join(dict.fromkeys(lines))) from None
        raise ConfigError(_said(err, source, prefix)) from None


def _said(err: Any, source: str, prefix: str) -> str:
    """One validation error as `source: key: what is wrong`."""
    key = _key(tuple(p for p in err["loc"] if not (isinstance(p, str) and "(" in p)))
    msg = redact_urls(err["msg"].removeprefix("Value error, "))  # no URL's path or query, ever
    if err["type"] == "extra_forbidden":
        guess = did_you_mean(Policy, err["loc"])
        msg = f"unknown key; did you mean `{guess}`?" if guess else "unknown key"
    return f"{source}: {prefix}{key}: {msg}"


def load_policy(path: Path | None) -> Policy:
    """Read the policy from a TOML file, or the defaults when there is none."""
    if path is None:
        return Policy()
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file ({exc.strerror})") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return policy_from_dict(data, source=str(path))
