"""Check Web API calls against Slack's own OpenAPI 2 spec (kept in ../shared/slack-api-specs)."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import pytest

SPEC_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "slack-api-specs"
SPEC_FILE = "slack_web_openapi_v2.json"

# Methods Slack added after the spec was published (it dates from 2020-2021), each with when it appeared and
# the parameters Slack documents for it (token aside). Add to this list, with a date, before the bot calls a
# newer method; anything else the bot calls must be in the spec.
NEWER_METHODS: dict[str, frozenset[str]] = {
    # Sign in with Slack (OpenID Connect), released late July 2021 (python-slack-sdk issue #1078,
    # 2021-07-30; legacy identity.* sign-in apps could not be created after 2021-07-22).
    "openid.connect.token": frozenset(
        {"client_id", "client_secret", "code", "redirect_uri", "grant_type", "refresh_token"}
    ),
    "openid.connect.userInfo": frozenset(),
    # The external upload flow, step 1. Opened to third-party apps in early October 2022: python-slack-sdk
    # 3.19.0 (2022-10-05) shipped files_upload_v2 on top of it. Slack's changelog of 2024-04-09 made it the
    # replacement for files.upload (no longer available to apps created after 2024-05-16).
    "files.getUploadURLExternal": frozenset({"filename", "length", "alt_txt", "snippet_type"}),
    # The external upload flow, step 2 (same dates). `blocks` was documented later, as an alternative to
    # `initial_comment`; each `files` item is {id, title, highlight_type?}.
    "files.completeUploadExternal": frozenset(
        {"files", "channel_id", "channels", "initial_comment", "thread_ts", "blocks"}
    ),
    # Channel bookmarks, newer than the spec's snapshot: Slack's reference (docs.slack.dev/reference/methods/
    # bookmarks.add) documents these arguments, and python-slack-sdk's bookmarks_add sends them.
    "bookmarks.add": frozenset(
        {"channel_id", "title", "type", "link", "emoji", "entity_id", "access_level", "parent_id"}
    ),
    "bookmarks.list": frozenset({"channel_id"}),
}

# Parameters Slack added to methods that the spec has. Same rule: a date and a reason for each.
NEWER_PARAMS: dict[str, frozenset[str]] = {}

# Accepted on every method. `team_id`: Bolt gives each listener a client built with the request's team_id,
# and slack_sdk then sends it as a default parameter on every call (org-wide installs need it; Slack
# accepts it everywhere), so e.g. auth.test arrives with team_id although the spec does not list it.
UNIVERSAL_PARAMS = frozenset({"token", "team_id"})


class SpecUnavailable(RuntimeError):
    """The spec folder or file is missing or unreadable."""


class SpecCheckSkipped(UserWarning):
    """The spec check did not run (no spec folder on this machine)."""


class RecordedCall(Protocol):
    """What the checker needs from a recorded call (slack_emulator.Call fits)."""

    method: str
    params: Mapping[str, Any]


@lru_cache(maxsize=4)
def load_spec(spec_dir: Path = SPEC_DIR) -> dict[str, frozenset[str]]:
    """Every Web API method in the spec with the parameter names it accepts (token excluded)."""
    path = spec_dir / SPEC_FILE
    if not spec_dir.is_dir():
        raise SpecUnavailable(f"../shared/slack-api-specs not found: {spec_dir} does not exist")
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SpecUnavailable(f"../shared/slack-api-specs not found: cannot read {path}: {exc}") from exc
    methods: dict[str, frozenset[str]] = {}
    for route, operations in spec["paths"].items():
        names = {
            p["name"] for op in operations.values() if isinstance(op, dict) for p in op.get("parameters", [])
        }
        methods[route.lstrip("/")] = frozenset(names - {"token"})
    return methods


def known_params(method: str, spec_dir: Path = SPEC_DIR) -> frozenset[str] | None:
    """The parameters a method takes, or None when Slack has no such method."""
    spec = load_spec(spec_dir)
    if method in spec:
        return spec[method] | NEWER_PARAMS.get(method, frozenset())
    return NEWER_METHODS.get(method)


def check_call(method: str, params: Iterable[str], spec_dir: Path = SPEC_DIR) -> list[str]:
    """Problems with one call: an unknown method, or parameters the method does not take."""
    known = known_params(method, spec_dir)
    if known is None:
        return [f"{method}: no such Web API method in Slack's spec (nor in NEWER_METHODS)"]
    return [
        f"{method}: unknown parameter {name!r} (the method takes: {', '.join(sorted(known))})"
        for name in sorted(set(params) - UNIVERSAL_PARAMS - known)
    ]


def check_calls(calls: Iterable[RecordedCall], spec_dir: Path = SPEC_DIR) -> list[str]:
    """Problems across recorded calls, each reported once (SpecUnavailable even when there are none)."""
    load_spec(spec_dir)
    problems: dict[str, None] = {}
    for call in calls:
        problems.update(dict.fromkeys(check_call(call.method, call.params, spec_dir)))
    return list(problems)


def assert_calls_conform(calls: Iterable[RecordedCall], spec_dir: Path = SPEC_DIR) -> None:
    """Fail the test on calls the spec does not know; without the spec, warn (fail under CI)."""
    try:
        problems = check_calls(calls, spec_dir)
    except SpecUnavailable as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Slack spec check cannot run under CI: {exc}")
        warnings.warn(f"Slack spec check skipped: {exc}", SpecCheckSkipped, stacklevel=2)
        return
    if problems:
        pytest.fail("Web API calls that Slack's spec does not know:\n  " + "\n  ".join(problems))


def assert_emulator_ok(emu: Any, spec_dir: Path = SPEC_DIR) -> None:
    """After a test: the emulator hit no internal error, and every call it received conforms to the spec."""
    if emu.errors:
        pytest.fail(f"the Slack emulator failed internally: {emu.errors!r}")
    assert_calls_conform(emu.calls, spec_dir)
