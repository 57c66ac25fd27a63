"""URLs without their secrets: a calendar's or a webhook's path and query often are the credential."""

from __future__ import annotations

import re

# scheme://[userinfo@]host[:port] then the rest (path, query, fragment) up to a space or a quote;
# a sentence's closing punctuation is not part of it.
_URL = re.compile(
    r"\b(https?)://(?:[^/\s@'\"<>]*@)?([^/\s?#'\"<>@,;]+)((?:[^\s'\"<>]*[^\s'\"<>.,;:!?)\]])?)",
    re.IGNORECASE,
)


def _keep_host(match: re.Match[str]) -> str:
    scheme, host, rest = match.groups()
    if rest in ("", "/"):
        return f"{scheme}://{host}{rest}"
    return f"{scheme}://{host}/…"


def redact_urls(text: str) -> str:
    """`text` with every http(s) URL cut to scheme://host/… (path, query and user info dropped)."""
    return _URL.sub(_keep_host, text)
