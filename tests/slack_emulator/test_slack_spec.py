"""The spec checker itself: it must catch bogus methods and parameters and accept real calls."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from slack_emulator.api import methods
from tests.slack_spec import (
    NEWER_METHODS,
    SPEC_DIR,
    SpecCheckSkipped,
    SpecUnavailable,
    assert_calls_conform,
    check_call,
    load_spec,
)

needs_spec = pytest.mark.skipif(
    not SPEC_DIR.is_dir(), reason=f"../shared/slack-api-specs not found: {SPEC_DIR} does not exist"
)


@needs_spec
def test_a_bogus_method_is_caught() -> None:
    (problem,) = check_call("chat.postMessagez", {"channel": "C1", "text": "hi"})
    assert "chat.postMessagez" in problem and "no such Web API method" in problem


@needs_spec
def test_a_bogus_parameter_is_caught() -> None:
    problems = check_call("chat.postMessage", {"channel": "C1", "text": "hi", "colour": "red", "thread": "1"})
    assert len(problems) == 2
    assert "'colour'" in problems[0] and "'thread'" in problems[1]


@needs_spec
@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("chat.postMessage", {"channel", "text", "blocks", "thread_ts", "reply_broadcast", "unfurl_links"}),
        ("conversations.create", {"name", "is_private"}),
        ("conversations.history", {"channel", "latest", "oldest", "inclusive", "limit", "cursor"}),
        ("views.open", {"trigger_id", "view"}),
        ("auth.test", {"token", "team_id"}),
        ("oauth.v2.access", {"client_id", "client_secret", "code", "redirect_uri"}),
        ("files.getUploadURLExternal", {"filename", "length"}),
        ("files.completeUploadExternal", {"files", "channel_id", "initial_comment", "thread_ts"}),
    ],
)
def test_real_calls_pass(method: str, params: set[str]) -> None:
    assert check_call(method, params) == []


@needs_spec
def test_newer_methods_are_really_missing_from_the_spec() -> None:
    spec = load_spec()
    assert len(spec) == 174
    assert [m for m in NEWER_METHODS if m in spec] == []


@needs_spec
def test_every_emulated_method_is_known() -> None:
    assert [m for m in methods() if check_call(m, set())] == []


@needs_spec
def test_assert_calls_conform_fails_the_test_with_the_problems() -> None:
    calls = [SimpleNamespace(method="chat.postMessage", params={"channel": "C1", "txt": "typo"})]
    with pytest.raises(pytest.fail.Exception, match="'txt'"):
        assert_calls_conform(calls)
    assert_calls_conform([SimpleNamespace(method="pins.add", params={"channel": "C1", "timestamp": "1.2"})])


def test_a_missing_spec_folder_is_reported_clearly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "slack-api-specs"
    with pytest.raises(SpecUnavailable, match="slack-api-specs not found"):
        check_call("chat.postMessage", {"channel"}, spec_dir=missing)
    monkeypatch.delenv("CI", raising=False)
    with pytest.warns(SpecCheckSkipped, match="not found"):
        assert_calls_conform([], spec_dir=missing)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="under CI"):
        assert_calls_conform([], spec_dir=missing)
