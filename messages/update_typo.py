"""The question asked before posting an update whose first word looks like a mistyped status."""

from __future__ import annotations

from messages.blocks import Message, context, section
from messages.text import escape, guard

AS_STATUS_ACTION = "update_as_status"
AS_WRITTEN_ACTION = "update_as_written"
RESOLVED = "resolved"


def _button(action_id: str, label: str, value: str, primary: bool = False) -> dict[str, object]:
    button: dict[str, object] = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": label},
        "value": value,
    }
    return {**button, "style": "primary"} if primary else button


def status_question(word: str, looks_like: str, value: str | None, text: str) -> Message:
    """`monitorng` looks like the status *monitoring*: post as that status, or as written. `value`
    (what the buttons carry) is None when the text is too long for a button: then it is shown back."""
    said = f"`{guard(word)}`"
    if looks_like == RESOLVED:
        line = (
            f"{said} looks like *resolved*: to resolve the incident use `/incident resolve &lt;summary&gt;`. "
            "Nothing was posted."
        )
        choices = [_button(AS_WRITTEN_ACTION, "Post as written", value)] if value else []
    else:
        line = f"{said} looks like the status *{looks_like}*. Nothing is posted until you choose."
        choices = (
            [
                _button(AS_STATUS_ACTION, f"Post as {looks_like}", value, primary=True),
                _button(AS_WRITTEN_ACTION, "Post as written", value),
            ]
            if value
            else []
        )
    blocks = [section(line)]
    if choices:
        blocks.append({"type": "actions", "block_id": "update_typo", "elements": choices})
    else:
        status = "" if looks_like == RESOLVED else f" {looks_like}"
        blocks += [
            section(
                "Your update is too long to keep on a button; nothing was lost: it is below. "
                f"Send it again with `/incident update{status} …`."
            ),
            section(f">{escape(text)}".replace("\n", "\n>")),
        ]
    blocks.append(context("Only you can see this."))
    return Message(text=line, blocks=blocks)


def posted_as(status: str | None) -> str:
    """What the question turns into once answered."""
    return f"Posted as *{status}*." if status else "Posted as written."


def not_yours(typer: str) -> Message:
    """Refusal for anyone but the person who typed the update."""
    return Message(text=f":warning: Only <@{typer}>, who typed this update, can post it.")
