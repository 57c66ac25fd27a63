"""Which URLs from outside (trackers, status pages, Slack, people) may become links."""

from __future__ import annotations

from urllib.parse import urlsplit

SCHEMES = ("http", "https")


def safe_url(url: object) -> str | None:
    """`url` when it is an absolute http(s) URL with a host and no whitespace or control characters;
    else None (a `javascript:` or `data:` URL, a relative one, anything that is not a string)."""
    if not isinstance(url, str) or not url or any(c.isspace() or not c.isprintable() for c in url):
        return None
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in SCHEMES or not host:
        return None
    return url
