"""Text from people and alerts made inert before it reaches Slack: one path, in three shapes.

`escape` for mrkdwn, `code` for inside ``` fences, `plain` for topics and plain_text fields. Each first
flattens Slack's tokens to the words a person reads (`<!here>` → `@here`, `<@U1|ann>` → `@ann`,
`<https://x|label>` → `label (https://x)`): a plain `@here` in a bot message notifies nobody, since the
bot never posts with `link_names` or `parse=full`. `quote` does the same for a Slack message's own text
(pinned and scribe messages). The bot's own mentions and links (`link`) are composed around the escaped
text; `guard` is only for replies the bot composed that quote the asker back to them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from domain.urls import safe_url

_TOKEN = re.compile(
    r"<(?:(?P<sigil>[@#!])(?P<ident>[^<>|]*)|(?P<url>[A-Za-z][A-Za-z0-9+.-]*:[^<>|\s]*))(?:\|(?P<label>[^<>]*))?>"
)
_BROADCASTS = ("here", "channel", "everyone")
_FENCE = re.compile(r"`(?=`)")
_ZWSP = "\u200b"
_URL = re.compile(r"https?://[^\s<>|]+")
# Mentions the bot composes itself (from user and channel ids it knows): kept live by `guard`.
_BOT_MENTION = re.compile(r"<[@#][UWC][A-Z0-9]+>")
# What could start a Slack token in text shown outside Slack: made into a lookalike instead.
_MARKUP_START = re.compile(r"<(?=[@!#])")


def _words(text: str, person: Callable[[str, str | None], str]) -> str:
    """Slack tokens as the words a person reads, `person(user id, label)` saying how to name someone."""

    def readable(m: re.Match[str]) -> str:
        sigil, ident, url, label = m.group("sigil", "ident", "url", "label")
        if url is not None:
            return f"{label} ({url})" if label and label != url else url
        if sigil == "@":
            return person(ident, label)
        if sigil == "#":
            return "#" + (label or ident)
        word, _, arg = ident.partition("^")
        if word in _BROADCASTS:
            return "@" + word
        if word == "subteam":
            return "@" + (label or arg).lstrip("@")
        return label or word  # `<!date^…|fallback>` and the like

    return _TOKEN.sub(readable, text)


def flatten(text: str, names: Mapping[str, str] | None = None) -> str:
    """Slack tokens as readable words; `names` (user id → name) names people the token leaves unnamed."""
    return _words(text, lambda ident, label: "@" + (label or (names or {}).get(ident) or ident))


def from_slack(text: str, names: Mapping[str, str] | None = None) -> str:
    """A Slack message's text (tokens live, `&lt;` for `<`) as the plain words its author wrote."""
    return unentities(flatten(text, names))


def unentities(text: str) -> str:
    """Slack's entities as the characters they stand for."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def person(user_id: str, names: Mapping[str, str] | None = None) -> str:
    """Someone outside Slack (a page, a file, a terminal): their name, else their bare ID; no markup."""
    return _inert((names or {}).get(user_id) or user_id)


def readable(text: str, names: Mapping[str, str] | None = None) -> str:
    """Text with Slack's tokens for outside Slack: a person by `person`, `@here`, `@group`, `#channel`,
    `label (url)`; no `<@`, `<!` or `<#` is left in it, whatever a name or the text held."""
    return _inert(_words(text, lambda ident, label: (names or {}).get(ident) or label or ident))


def _inert(text: str) -> str:
    return _MARKUP_START.sub("‹", text)


def entities(text: str) -> str:
    """`&`, `<` and `>` as Slack's entities: what makes readable text inert in mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unfence(text: str) -> str:
    """Backtick runs broken (a zero-width space between backticks), so text cannot close a ``` block."""
    text = _FENCE.sub("`" + _ZWSP, text)
    if text.startswith("`"):
        text = _ZWSP + text
    return text + _ZWSP if text.endswith("`") else text


def escape(text: str, names: Mapping[str, str] | None = None) -> str:
    """Outside text for mrkdwn: tokens flattened, then entity-escaped; nothing in it notifies or links."""
    return entities(flatten(text, names))


def quote(message_text: str) -> str:
    """A Slack message's text shown again in mrkdwn: as its author wrote it, no mention re-notifying."""
    return entities(from_slack(message_text))


def code(text: str, names: Mapping[str, str] | None = None) -> str:
    """Outside text for inside a ``` code block: `escape`d, and unable to close the block."""
    return unfence(escape(text, names))


def plain(text: str, names: Mapping[str, str] | None = None) -> str:
    """Outside text for topics and plain_text fields: tokens flattened, and no `<` left to start one."""
    return flatten(text, names).replace("<", "‹")


def link(url: str | None, label: str) -> str:
    """A link the bot composes to a URL it was given (an alert's source, a status page): only a clean
    http(s) URL becomes one; otherwise just the label."""
    return f"<{entities(url)}|{label}>" if url and safe_url(url) and _URL.fullmatch(url) else label


def guard(composed: str, inert: Callable[[str], str] = entities) -> str:
    """A reply the bot composed that may quote the asker: the bot's own `<@U…>`/`<#C…>` stay, every
    other bracket (a quoted broadcast above all) is made inert by `inert` (entity-escaped)."""
    out, pos = [], 0
    for m in _BOT_MENTION.finditer(composed):
        out += [inert(composed[pos : m.start()]), m.group(0)]
        pos = m.end()
    return "".join(out) + inert(composed[pos:])


def cut(text: str, limit: int) -> str:
    """Plain text cut to `limit` characters with an ellipsis (any `&` in it is a character, not an
    entity: `messages.blocks.truncate` is for escaped text)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
