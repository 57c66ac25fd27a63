"""views.* (modals opened with trigger ids) and the two-step external file upload."""

from __future__ import annotations

import mimetypes
import secrets
from typing import Any

from slack_emulator.api_messages import post_target
from slack_emulator.apibase import (
    ApiError,
    Handler,
    Params,
    Result,
    blocks_arg,
    invalid_arguments,
    require_member,
    require_open,
    valid_ts,
)
from slack_emulator.blockkit import view_problems
from slack_emulator.models import APP_ID, FileRecord, View
from slack_emulator.state import Workspace

VIEW_STACK_MAX = 3
ALT_TXT_MAX = 1000


def view_dict(ws: Workspace, v: View) -> dict[str, Any]:
    """Slack's view object: the app's view plus the fields Slack adds."""
    out: dict[str, Any] = {
        "type": "modal",
        "blocks": [],
        "private_metadata": "",
        "callback_id": "",
        "title": None,
        "close": None,
        "submit": None,
        "clear_on_close": False,
        "notify_on_close": False,
        "external_id": v.external_id or "",
    }
    out.update(v.view)
    out.update(
        id=v.id,
        team_id=ws.team_id,
        state={"values": {}},
        hash=v.hash,
        root_view_id=v.root_view_id,
        previous_view_id=v.previous_view_id,
        app_id=APP_ID,
        app_installed_team_id=ws.team_id,
        bot_id=ws.bot_id,
    )
    return out


def log_view(ws: Workspace, v: View) -> None:
    """Record a modal in the activity log (title as a header line)."""
    title = (v.view.get("title") or {}).get("text", "")
    header = {"type": "header", "text": {"type": "plain_text", "text": title}}
    ws.record("view", "", ws.bot_user_id, title, [header, *v.view.get("blocks", [])], to=v.user)


def apply_submission(ws: Workspace, v: View, answer: dict[str, Any]) -> None:
    """What Slack does with a view_submission's ack: close, update, push, clear or show errors."""
    action = answer.get("response_action")
    if action == "errors":
        return
    if action == "update" and isinstance(answer.get("view"), dict):
        v.view, v.hash = answer["view"], f"{int(ws.now())}.{secrets.token_hex(4)}"
        log_view(ws, v)
    elif action == "push" and isinstance(answer.get("view"), dict):
        stack = ws.open_views(v.user)
        pushed = View(ws.new_id("V"), v.user, answer["view"], secrets.token_hex(4), stack[0].id, v.id)
        ws.views[pushed.id] = pushed
        log_view(ws, pushed)
    elif action == "clear":
        for open_view in ws.open_views(v.user):
            open_view.closed = True
    else:
        v.closed = True


def _trigger_user(ws: Workspace, params: Params) -> str:
    """Check a trigger_id (known, unused, younger than trigger_ttl real seconds) without spending it."""
    trigger = ws.triggers.get(params.get("trigger_id") or "")
    if trigger is None:
        raise ApiError("invalid_trigger_id")
    if trigger.used:
        raise ApiError("exchanged_trigger_id")
    if ws.monotonic() - trigger.issued_at > ws.trigger_ttl:
        raise ApiError("expired_trigger_id")
    return trigger.user


def _view_arg(ws: Workspace, params: Params, current: View | None = None) -> dict[str, Any]:
    view = params.parsed("view")
    problems = view_problems(view)
    if problems:
        raise invalid_arguments(*problems)
    external_id = view.get("external_id")
    if external_id and any(v.external_id == external_id and v is not current for v in ws.views.values()):
        raise ApiError("duplicate_external_id")
    return view


def _new_view(
    ws: Workspace, user: str, view: dict[str, Any], root: View | None, previous: View | None
) -> View:
    vid = ws.new_id("V")
    v = View(
        vid,
        user,
        view,
        _hash(ws),
        root.id if root else vid,
        previous.id if previous else None,
        view.get("external_id"),
    )
    ws.views[vid] = v
    log_view(ws, v)
    return v


def _hash(ws: Workspace) -> str:
    return f"{int(ws.now())}.{secrets.token_hex(4)}"


def _spend(ws: Workspace, params: Params) -> None:
    ws.triggers[params.get("trigger_id") or ""].used = True


def views_open(ws: Workspace, params: Params) -> Result:
    """Open a modal as the root of a new stack for the user who triggered it."""
    user = _trigger_user(ws, params)
    view = _view_arg(ws, params)
    _spend(ws, params)
    for old in ws.open_views(user):
        old.closed = True
    return {"view": view_dict(ws, _new_view(ws, user, view, None, None))}


def views_push(ws: Workspace, params: Params) -> Result:
    """Push a modal onto the user's open stack (three deep at most)."""
    user = _trigger_user(ws, params)
    view = _view_arg(ws, params)
    stack = ws.open_views(user)
    if not stack:
        raise invalid_arguments("[ERROR] no modal is open to push onto")
    if len(stack) >= VIEW_STACK_MAX:
        raise ApiError("push_limit_reached")
    _spend(ws, params)
    return {"view": view_dict(ws, _new_view(ws, user, view, stack[0], stack[-1]))}


def views_update(ws: Workspace, params: Params) -> Result:
    """Replace an open modal's content; a stale hash is a hash_conflict."""
    vid, external_id = params.get("view_id"), params.get("external_id")
    if not vid and not external_id:
        raise invalid_arguments("[ERROR] view_id or external_id is required")
    v = ws.views.get(vid or "") or next(
        (x for x in ws.views.values() if external_id and x.external_id == external_id), None
    )
    if v is None or v.closed:
        raise ApiError("not_found")
    given_hash = params.get("hash")
    if given_hash and given_hash != v.hash:
        raise ApiError("hash_conflict")
    v.view = _view_arg(ws, params, current=v)
    v.external_id = v.view.get("external_id") or v.external_id
    v.hash = _hash(ws)
    log_view(ws, v)
    return {"view": view_dict(ws, v)}


def file_dict(ws: Workspace, rec: FileRecord) -> dict[str, Any]:
    """Slack's file object."""
    ext = rec.name.rsplit(".", 1)[-1].lower() if "." in rec.name else "binary"
    url = f"{ws.server_url}files/{rec.id}/{rec.name}"
    return {
        "id": rec.id,
        "created": rec.created,
        "timestamp": rec.created,
        "name": rec.name,
        "title": rec.title or rec.name,
        "mimetype": mimetypes.guess_type(rec.name)[0] or "application/octet-stream",
        "filetype": ext,
        "pretty_type": ext.upper(),
        "user": rec.user,
        "user_team": ws.team_id,
        "editable": False,
        "size": len(rec.content or b""),
        "mode": "hosted",
        "is_external": False,
        "external_type": "",
        "is_public": False,
        "public_url_shared": False,
        "display_as_bot": False,
        "username": "",
        "url_private": url,
        "url_private_download": url,
        "alt_txt": rec.alt_txt,
        "permalink": f"{ws.url}files/{rec.user}/{rec.id}/{rec.name}",
        "channels": list(rec.channels),
        "groups": [],
        "ims": [],
        "comments_count": 0,
    }


def get_upload_url(ws: Workspace, params: Params) -> Result:
    """Announce a file; its bytes go by POST to the returned upload_url."""
    name = params.get("filename")
    length = params.number("length", 0)
    if not name or length <= 0:
        raise ApiError("missing_argument")
    alt_txt = params.get("alt_txt")
    if alt_txt and len(alt_txt) > ALT_TXT_MAX:
        raise ApiError("alt_txt_too_large")
    fid = ws.new_id("F")
    ws.files[fid] = FileRecord(
        fid,
        name,
        length,
        int(ws.now()),
        ws.bot_user_id,
        alt_txt=alt_txt,
        snippet_type=params.get("snippet_type"),
    )
    return {"upload_url": f"{ws.server_url}upload/{fid}", "file_id": fid}


def complete_upload(ws: Workspace, params: Params) -> Result:
    """Finish uploads and share them (one message per conversation) when a channel is given."""
    items = params.parsed("files")
    if (
        not isinstance(items, list)
        or not items
        or not all(isinstance(i, dict) and i.get("id") for i in items)
    ):
        raise invalid_arguments("[ERROR] files must be a non-empty array of {id, title}")
    records = []
    for item in items:
        rec = ws.files.get(str(item["id"]))
        if rec is None:
            raise ApiError("file_not_found")
        if rec.content is None:
            raise ApiError(
                "file_not_found",
                response_metadata={"messages": [f"[ERROR] nothing was uploaded for {rec.id}"]},
            )
        records.append((rec, item.get("title")))
    targets = [t for t in [params.get("channel_id"), *params.items("channels")] if t]
    thread_ts = params.get("thread_ts")
    if thread_ts and len(targets) != 1:
        raise invalid_arguments("[ERROR] thread_ts needs exactly one channel")
    channels = []
    for target in targets:
        ch = post_target(ws, Params({"channel": target}))
        require_open(ch)
        require_member(ws, ch)
        if thread_ts and ch.find(valid_ts(thread_ts, "invalid_thread_ts")) is None:
            raise ApiError("thread_not_found")
        channels.append(ch)
    comment = params.get("initial_comment") or ""
    blocks = None if comment else blocks_arg(params)
    for rec, title in records:
        rec.title = str(title or rec.title or rec.name)
        rec.channels.extend(ch.id for ch in channels if ch.id not in rec.channels)
    shared = [file_dict(ws, rec) for rec, _ in records]
    bot = ws.bot_user_id
    for ch in channels:
        msg = ws.add_message(ch, bot, comment, blocks, thread_ts=thread_ts, files=shared, log=False)
        names = "\n".join(f"[file: {f['title']}]" for f in shared)
        ws.record("file", ch.id, bot, f"{comment}\n{names}" if comment else names, None, msg.ts)
    return {"files": shared}


METHODS: dict[str, Handler] = {
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
    "files.getUploadURLExternal": get_upload_url,
    "files.completeUploadExternal": complete_upload,
}
