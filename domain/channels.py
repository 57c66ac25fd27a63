"""Incident channel names: `incident-<UTC YYYYMMDD-HHMM>[-slug]`, valid for Slack."""

from __future__ import annotations

import re
import secrets
import string
from datetime import datetime

MAX_NAME = 80
_SLUG_MAX = 40
_SUFFIX_ALPHABET = string.ascii_lowercase + string.digits


def slugify(title: str, limit: int = _SLUG_MAX) -> str:
    """Lower-case `[a-z0-9-]` words of the title, cut at a word boundary within `limit`."""
    words = re.findall(r"[a-z0-9]+", title.lower())
    slug = ""
    for word in words:
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > limit:
            break
        slug = candidate
    if not slug and words:
        slug = words[0][:limit]
    return slug


def channel_name(
    prefix: str, declared_at: datetime, title: str, attempt: int = 0, private: bool = False
) -> str:
    """The name to try on attempt N: plain, then with seconds, then with a random suffix. A private
    incident's name carries no word of its title: `incident-<timestamp>-private`."""
    stamp = declared_at.strftime("%Y%m%d-%H%M%S" if attempt >= 1 else "%Y%m%d-%H%M")
    suffix = ""
    if attempt >= 2:
        suffix = "-" + "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(4))
    head = f"{prefix}-{stamp}"
    room = MAX_NAME - len(head) - len(suffix) - 1
    slug = "private" if private else slugify(title, min(_SLUG_MAX, room)) if room > 0 else ""
    name = f"{head}-{slug}" if slug else head
    return (name + suffix)[:MAX_NAME]
