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


# Any scheme (or none), optional user info, the host, then the rest: a configured value that is not
# a usable URL is echoed in an error message, and its path may still be the credential.
_ANY = re.compile(r"(?:([A-Za-z][A-Za-z0-9+.-]*)://)?(?:[^/?#\s@]*@)?([^/?#\s@]*)(.*)", re.DOTALL)


def redact_url(value: str) -> str:
    """One configured URL, valid or not, as `scheme://host/…` (or `host/…` without a scheme)."""
    match = _ANY.match(value.strip())
    assert match is not None  # every part is optional
    scheme, host, rest = match.groups()
    head = f"{scheme}://{host}" if scheme else host
    return head if rest in ("", "/") else f"{head}/…"
