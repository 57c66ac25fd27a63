"""Block Kit limits Slack enforces, reported the way Slack reports them ("[ERROR] ... [json-pointer:...]")."""

from __future__ import annotations

from typing import Any

MESSAGE_MAX_BLOCKS = 50
MODAL_MAX_BLOCKS = 100
MODAL_TITLE_MAX = 24
KNOWN_BLOCKS = frozenset(
    {
        "section",
        "divider",
        "image",
        "actions",
        "context",
        "input",
        "file",
        "header",
        "video",
        "rich_text",
        "markdown",
    }
)


def _err(what: str, pointer: str) -> str:
    return f"[ERROR] {what} [json-pointer:{pointer}]"


def text_problems(obj: Any, pointer: str, *, max_len: int, plain_only: bool = False) -> list[str]:
    """A text object: right type, non-empty, not too long."""
    if not isinstance(obj, dict):
        return [_err("must provide an object", pointer)]
    kinds = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if obj.get("type") not in kinds:
        return [_err(f"must be one of: {', '.join(kinds)}", pointer + "/type")]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [_err("must be more than 0 characters", pointer + "/text")]
    if len(text) > max_len:
        return [_err(f"must be less than {max_len + 1} characters", pointer + "/text")]
    return []


def element_problems(el: Any, pointer: str) -> list[str]:
    """An interactive element (buttons are checked in detail)."""
    if not isinstance(el, dict) or not isinstance(el.get("type"), str):
        return [_err("must provide an element object with a type", pointer)]
    problems = []
    if len(str(el.get("action_id", ""))) > 255:
        problems.append(_err("must be less than 256 characters", pointer + "/action_id"))
    if el["type"] == "button":
        problems += text_problems(el.get("text"), pointer + "/text", max_len=75, plain_only=True)
        if len(str(el.get("value", ""))) > 2000:
            problems.append(_err("must be less than 2001 characters", pointer + "/value"))
        if len(str(el.get("url", ""))) > 3000:
            problems.append(_err("must be less than 3001 characters", pointer + "/url"))
        if el.get("style") not in (None, "primary", "danger"):
            problems.append(_err("must be one of: primary, danger", pointer + "/style"))
    elif el["type"] == "checkboxes":
        problems += _checkbox_problems(el, pointer)
    return problems


def _checkbox_problems(el: dict[str, Any], pointer: str) -> list[str]:
    """1-10 options of up to 75 characters and a value of up to 150; initial ones among them."""
    options = el.get("options")
    if not isinstance(options, list) or not 1 <= len(options) <= 10:
        return [_err("must provide between 1 and 10 items", pointer + "/options")]
    problems = []
    for i, option in enumerate(options):
        problems += text_problems((option or {}).get("text"), f"{pointer}/options/{i}/text", max_len=75)
        if not 1 <= len(str((option or {}).get("value", ""))) <= 150:
            problems.append(_err("must be between 1 and 150 characters", f"{pointer}/options/{i}/value"))
    for i, chosen in enumerate(el.get("initial_options") or []):
        if chosen not in options:
            problems.append(_err("must match one of the options", f"{pointer}/initial_options/{i}"))
    return problems


def _block_problems(block: dict[str, Any], p: str) -> list[str]:
    kind = block["type"]
    problems: list[str] = []
    if kind == "header":
        problems += text_problems(block.get("text"), p + "/text", max_len=150, plain_only=True)
    elif kind == "section":
        fields = block.get("fields")
        if "text" not in block and not fields:
            problems.append(_err("must provide either text or fields", p))
        if "text" in block:
            problems += text_problems(block["text"], p + "/text", max_len=3000)
        if fields is not None:
            if not isinstance(fields, list) or len(fields) > 10:
                problems.append(_err("must provide no more than 10 items", p + "/fields"))
            else:
                for i, f in enumerate(fields):
                    problems += text_problems(f, f"{p}/fields/{i}", max_len=2000)
        if "accessory" in block:
            problems += element_problems(block["accessory"], p + "/accessory")
    elif kind == "context":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
            problems.append(_err("must provide between 1 and 10 items", p + "/elements"))
        else:
            for i, el in enumerate(elements):
                if isinstance(el, dict) and el.get("type") == "image":
                    continue
                problems += text_problems(el, f"{p}/elements/{i}", max_len=3000)
    elif kind == "actions":
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= 25:
            problems.append(_err("must provide between 1 and 25 items", p + "/elements"))
        else:
            ids = [el.get("action_id") for el in elements if isinstance(el, dict) and el.get("action_id")]
            if len(ids) != len(set(ids)):
                problems.append(_err("action_id must be unique within the block", p + "/elements"))
            for i, el in enumerate(elements):
                problems += element_problems(el, f"{p}/elements/{i}")
    elif kind == "image":
        if not block.get("image_url") and not block.get("slack_file"):
            problems.append(_err("must provide image_url or slack_file", p))
        if not block.get("alt_text"):
            problems.append(_err("must provide alt_text", p + "/alt_text"))
    elif kind == "input":
        problems += text_problems(block.get("label"), p + "/label", max_len=2000, plain_only=True)
        problems += element_problems(block.get("element"), p + "/element")
    elif kind == "markdown" and len(str(block.get("text", ""))) > 12000:
        problems.append(_err("must be less than 12001 characters", p + "/text"))
    return problems


def block_problems(
    blocks: Any, *, max_blocks: int = MESSAGE_MAX_BLOCKS, pointer: str = "/blocks"
) -> list[str]:
    """Everything wrong with a blocks array; empty when Slack would accept it."""
    if not isinstance(blocks, list):
        return [_err("must provide an array", pointer)]
    problems = []
    if len(blocks) > max_blocks:
        problems.append(_err(f"must provide no more than {max_blocks} items", pointer))
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        p = f"{pointer}/{i}"
        if not isinstance(block, dict) or block.get("type") not in KNOWN_BLOCKS:
            kind = block.get("type") if isinstance(block, dict) else None
            problems.append(_err(f"unsupported type: {kind}", p + "/type"))
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if len(str(block_id)) > 255:
                problems.append(_err("must be less than 256 characters", p + "/block_id"))
            if block_id in seen:
                problems.append(_err(f"duplicate block_id: {block_id}", p + "/block_id"))
            seen.add(block_id)
        problems += _block_problems(block, p)
    return problems


def view_problems(view: Any) -> list[str]:
    """Everything wrong with a modal view payload."""
    if not isinstance(view, dict):
        return [_err("must provide an object", "/view")]
    problems = []
    if view.get("type") != "modal":
        problems.append(_err("must be one of: modal", "/view/type"))
    problems += text_problems(view.get("title"), "/view/title", max_len=MODAL_TITLE_MAX, plain_only=True)
    for key in ("submit", "close"):
        if key in view:
            problems += text_problems(view[key], f"/view/{key}", max_len=MODAL_TITLE_MAX, plain_only=True)
    if len(str(view.get("private_metadata", ""))) > 3000:
        problems.append(_err("must be less than 3001 characters", "/view/private_metadata"))
    if len(str(view.get("callback_id", ""))) > 255:
        problems.append(_err("must be less than 256 characters", "/view/callback_id"))
    problems += block_problems(view.get("blocks", []), max_blocks=MODAL_MAX_BLOCKS, pointer="/view/blocks")
    return problems
