"""Block Kit to plain-text lines, the way a person reads a message. Pure functions."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

NameResolver = Callable[[str], str | None]

DIVIDER = "─" * 40
_LINK = re.compile(r"<([^<>\n]+)>")
_SPECIAL = {"here": "@here", "channel": "@channel", "everyone": "@everyone"}


@dataclass(frozen=True)
class Button:
    """A button found in a message's blocks."""

    text: str
    action_id: str
    block_id: str | None
    value: str | None = None
    url: str | None = None
    style: str | None = None


@dataclass(frozen=True)
class Checkboxes:
    """A checkboxes element found in a message's blocks: its options and which are ticked now."""

    action_id: str
    block_id: str
    options: tuple[dict[str, Any], ...]
    ticked: tuple[dict[str, Any], ...]


def unescape(text: str) -> str:
    """Undo Slack's three escapes (&amp; last, so '&amp;lt;' stays '&lt;')."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def mrkdwn_to_text(
    text: str, resolve_user: NameResolver | None = None, resolve_channel: NameResolver | None = None
) -> str:
    """Readable text from mrkdwn: mentions become @name/#name, links 'label (url)', escapes undone."""

    def link(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith("@"):
            uid = target[1:]
            return "@" + ((resolve_user(uid) if resolve_user else None) or label or uid)
        if target.startswith("#"):
            cid = target[1:]
            return "#" + ((resolve_channel(cid) if resolve_channel else None) or label or cid)
        if target.startswith("!"):
            word = target[1:]
            if word in _SPECIAL:
                return _SPECIAL[word]
            if word.startswith("subteam^"):
                return label or "@" + word.removeprefix("subteam^")
            return label or "@" + word
        return f"{label} ({target})" if label and label != target else target

    return unescape(_LINK.sub(link, text))


def text_of(
    obj: Any, resolve_user: NameResolver | None = None, resolve_channel: NameResolver | None = None
) -> str:
    """The readable text of a text object (plain_text as is, mrkdwn converted)."""
    if not isinstance(obj, dict):
        return "" if obj is None else str(obj)
    text = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return mrkdwn_to_text(text, resolve_user, resolve_channel)
    return text


def buttons(blocks: list[dict[str, Any]] | None) -> list[Button]:
    """Every button in actions blocks and section accessories, in order."""
    found = []
    for block, element in _elements(blocks or []):
        if element.get("type") == "button":
            found.append(
                Button(
                    text=text_of(element.get("text")),
                    action_id=str(element.get("action_id", "")),
                    block_id=block.get("block_id"),
                    value=element.get("value"),
                    url=element.get("url"),
                    style=element.get("style"),
                )
            )
    return found


def checkboxes(blocks: list[dict[str, Any]] | None) -> list[Checkboxes]:
    """Every checkboxes element in actions blocks and section accessories, in order."""
    return [
        Checkboxes(
            action_id=str(element.get("action_id", "")),
            block_id=str(block.get("block_id", "")),
            options=tuple(element.get("options") or ()),
            ticked=tuple(element.get("initial_options") or ()),
        )
        for block, element in _elements(blocks or [])
        if element.get("type") == "checkboxes"
    ]


def _elements(blocks: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for block in blocks:
        if block.get("type") == "actions":
            for element in block.get("elements") or []:
                yield block, element
        elif isinstance(block.get("accessory"), dict):
            yield block, block["accessory"]


def _element(element: dict[str, Any], show_action_ids: bool) -> str:
    kind = element.get("type")
    if kind == "button":
        label = f"[{text_of(element.get('text'))}]"
        return f"{label}({element.get('action_id', '')})" if show_action_ids else label
    if kind == "image":
        return f"[image: {element.get('alt_text', '')}]"
    if "select" in str(kind):
        chosen = element.get("initial_option") or {}
        shown = text_of(chosen.get("text")) or text_of(element.get("placeholder")) or "choose"
        return f"[{shown} ▾]"
    if kind == "overflow":
        return "[…]"
    if kind == "checkboxes":
        ticked = [o.get("value") for o in element.get("initial_options") or []]
        return " ".join(
            f"[{'x' if o.get('value') in ticked else ' '}] {text_of(o.get('text'))}"
            for o in element.get("options") or []
        )
    return f"[{kind}]"


def _rich_text(
    elements: list[dict[str, Any]], resolve_user: NameResolver | None, resolve_channel: NameResolver | None
) -> str:
    parts = []
    for el in elements:
        kind = el.get("type")
        if "elements" in el:
            parts.append(_rich_text(el["elements"], resolve_user, resolve_channel))
            if kind != "rich_text_section":
                parts.append("\n")
        elif kind == "text":
            parts.append(el.get("text", ""))
        elif kind == "link":
            url = el.get("url", "")
            parts.append(f"{el['text']} ({url})" if el.get("text") else url)
        elif kind == "user":
            uid = el.get("user_id", "")
            parts.append("@" + ((resolve_user(uid) if resolve_user else None) or uid))
        elif kind == "channel":
            cid = el.get("channel_id", "")
            parts.append("#" + ((resolve_channel(cid) if resolve_channel else None) or cid))
        elif kind == "emoji":
            parts.append(f":{el.get('name', '')}:")
        elif kind == "broadcast":
            parts.append("@" + el.get("range", "here"))
    return "".join(parts)


def render_block(
    block: dict[str, Any],
    resolve_user: NameResolver | None = None,
    resolve_channel: NameResolver | None = None,
    show_action_ids: bool = False,
) -> list[str]:
    """The lines one block shows."""

    def text(obj: Any) -> list[str]:
        value = text_of(obj, resolve_user, resolve_channel)
        return value.split("\n") if value else []

    kind = block.get("type")
    if kind == "header":
        return text(block.get("text"))
    if kind == "divider":
        return [DIVIDER]
    if kind == "section":
        lines = text(block.get("text"))
        for field_obj in block.get("fields") or []:
            lines += text(field_obj)
        accessory = block.get("accessory")
        if isinstance(accessory, dict) and accessory.get("type") != "image":
            lines.append(_element(accessory, show_action_ids))
        return lines
    if kind == "context":
        parts = [
            _element(e, show_action_ids)
            if e.get("type") == "image"
            else text_of(e, resolve_user, resolve_channel)
            for e in block.get("elements") or []
        ]
        return ["  ".join(p for p in parts if p)]
    if kind == "actions":
        return [" ".join(_element(e, show_action_ids) for e in block.get("elements") or [])]
    if kind == "image":
        return [f"[image: {block.get('alt_text', '')}]"]
    if kind == "input":
        element = block.get("element") or {}
        hint = text_of(element.get("placeholder")) or element.get("type", "input")
        return [f"{text_of(block.get('label'))}: [{hint}]"]
    if kind == "rich_text":
        return _rich_text(block.get("elements") or [], resolve_user, resolve_channel).rstrip("\n").split("\n")
    if kind == "markdown":
        return str(block.get("text", "")).split("\n")
    return [f"[{kind}]"]


def render_blocks(
    blocks: list[dict[str, Any]] | None,
    text: str = "",
    *,
    resolve_user: NameResolver | None = None,
    resolve_channel: NameResolver | None = None,
    show_action_ids: bool = False,
) -> list[str]:
    """A message as readable lines: its blocks when it has some, else its (mrkdwn) text."""
    if not blocks:
        converted = mrkdwn_to_text(text or "", resolve_user, resolve_channel)
        return converted.split("\n") if converted else []
    lines: list[str] = []
    for block in blocks:
        lines += render_block(block, resolve_user, resolve_channel, show_action_ids)
    return lines
