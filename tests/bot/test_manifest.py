"""The manifest grants what the code needs: methods and events are derived from the source itself."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import yaml
from slack_sdk.web.async_client import AsyncWebClient

from bot.manifest import render

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [p for d in ("bot", "handlers", "services", "runtime") for p in (ROOT / d).rglob("*.py")]

# Bot scopes each Web API method needs, from Slack's method documentation ("Required scopes").
# An empty set: no scope (auth.test, chat.getPermalink, views.open with a trigger).
METHOD_SCOPES: dict[str, set[str]] = {
    "auth.test": set(),
    "chat.postMessage": {"chat:write"},
    "chat.update": {"chat:write"},
    "chat.postEphemeral": {"chat:write"},
    "chat.getPermalink": set(),
    # Private incident channels need the groups:* twin of each channels:* scope.
    "conversations.create": {"channels:manage", "groups:write"},
    "conversations.invite": {"channels:manage", "groups:write"},
    "conversations.setTopic": {"channels:manage", "groups:write"},
    "users.conversations": {"channels:read", "groups:read"},
    "conversations.archive": {"channels:manage", "groups:write"},
    "conversations.unarchive": {"channels:manage", "groups:write"},
    "conversations.join": {"channels:join"},
    "conversations.list": {"channels:read", "groups:read"},
    "conversations.members": {"channels:read", "groups:read"},
    "conversations.open": {"im:write"},
    "conversations.history": {"channels:history", "groups:history"},
    "conversations.replies": {"channels:history", "groups:history"},
    "pins.add": {"pins:write"},
    "bookmarks.add": {"bookmarks:write"},
    "reactions.add": {"reactions:write"},
    "reactions.remove": {"reactions:write"},
    "usergroups.list": {"usergroups:read"},
    "usergroups.users.list": {"usergroups:read"},
    "usergroups.users.update": {"usergroups:write"},
    "users.info": {"users:read"},
    "users.lookupByEmail": {"users:read", "users:read.email"},
    "views.open": set(),
    "files.getUploadURLExternal": {"files:write"},
    "files.completeUploadExternal": {"files:write"},
}
# Events API subscriptions (and their scopes) for each event type the bot listens to.
EVENT_SUBSCRIPTIONS = {
    "message": {"message.channels": "channels:history", "message.groups": "groups:history"},
    "reaction_added": {"reaction_added": "reactions:read"},
    "reaction_removed": {"reaction_removed": "reactions:read"},
    # One subscription for public and private channels (channels:read or groups:read).
    "member_joined_channel": {"member_joined_channel": "channels:read"},
    # Sent whatever the scopes: the app leaving a workspace, or its tokens revoked.
    "app_uninstalled": {"app_uninstalled": None},
    "tokens_revoked": {"tokens_revoked": None},
}


def _api_methods(client_method: str, seen: set[str] | None = None) -> set[str]:
    """Web API methods an AsyncWebClient method calls (files_upload_v2 calls two)."""
    seen = seen if seen is not None else set()
    if client_method in seen:
        return set()
    seen.add(client_method)
    source = inspect.getsource(getattr(AsyncWebClient, client_method))
    found = set(re.findall(r'api_call\(\s*"([a-zA-Z.]+)"', source))
    for inner in re.findall(r"self\.(\w+)\(", source):
        if inner != client_method and hasattr(AsyncWebClient, inner) and not inner.startswith("_"):
            found |= _api_methods(inner, seen)
    return found


def _calls_in_code() -> set[str]:
    """Every Web API method reached from `….client.<method>(…)` in bot/, handlers/, services/ and runtime/."""
    methods: set[str] = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = node.func.value
                owner_name = owner.attr if isinstance(owner, ast.Attribute) else getattr(owner, "id", "")
                if owner_name == "client" and hasattr(AsyncWebClient, node.func.attr):
                    methods |= _api_methods(node.func.attr)
    return methods | {"auth.test"}  # Bolt authorises with auth.test on the first request


def _events_in_code() -> set[str]:
    events = set()
    for path in (ROOT / "handlers").rglob("*.py"):
        events |= set(re.findall(r'app\.event\("([a-z_]+)"\)', path.read_text()))
    return events


def test_the_code_is_seen() -> None:
    methods = _calls_in_code()
    assert {"chat.postMessage", "conversations.create", "files.completeUploadExternal"} <= methods
    assert _events_in_code() == {
        "message",
        "reaction_added",
        "reaction_removed",
        "member_joined_channel",
        "app_uninstalled",
        "tokens_revoked",
    }


def test_manifest_grants_every_scope_and_event_the_code_needs() -> None:
    data = yaml.safe_load((ROOT / "manifest-socket.yml").read_text())
    scopes = set(data["oauth_config"]["scopes"]["bot"])
    methods = _calls_in_code()
    unknown = methods - METHOD_SCOPES.keys()
    assert not unknown, f"add these methods to METHOD_SCOPES (from Slack's docs): {sorted(unknown)}"
    missing = {m: METHOD_SCOPES[m] - scopes for m in methods if METHOD_SCOPES[m] - scopes}
    assert not missing, missing
    subscribed = set(data["settings"]["event_subscriptions"]["bot_events"])
    for event in _events_in_code():
        for subscription, scope in EVENT_SUBSCRIPTIONS[event].items():
            assert subscription in subscribed and (scope is None or scope in scopes), (event, subscription)
    assert "commands" in scopes
    [command] = data["features"]["slash_commands"]
    assert command["command"] == "/incident" and command["should_escape"] is True
    assert data["settings"]["interactivity"]["is_enabled"] is True
    assert data["settings"]["socket_mode_enabled"] is True
    needed = set().union(*(METHOD_SCOPES[m] for m in methods)) | {"commands"}
    needed |= {scope for e in _events_in_code() for scope in EVENT_SUBSCRIPTIONS[e].values() if scope}
    assert scopes == needed, f"scopes nothing uses: {sorted(scopes - needed)}"


def test_manifest_file_is_what_the_command_prints() -> None:
    assert (ROOT / "manifest-socket.yml").read_text() == render()


def test_http_manifest_fills_every_request_url() -> None:
    data = yaml.safe_load(render("https://incidents.example.com/"))
    url = "https://incidents.example.com/slack/events"
    assert data["features"]["slash_commands"][0]["url"] == url
    assert data["settings"]["event_subscriptions"]["request_url"] == url
    assert data["settings"]["interactivity"]["request_url"] == url
    assert data["settings"]["socket_mode_enabled"] is False


def test_http_manifest_lists_the_oauth_and_the_web_view_redirect_urls() -> None:
    from web.signin import CALLBACK

    assert CALLBACK == "/ui/auth/callback"
    data = yaml.safe_load(render("https://incidents.example.com/"))
    assert data["oauth_config"]["redirect_urls"] == [
        "https://incidents.example.com/slack/oauth_redirect",
        "https://incidents.example.com/ui/auth/callback",
    ]
