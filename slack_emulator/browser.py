"""A person installing the app: the app's install page, Slack's authorize page, back to the app's redirect."""

from __future__ import annotations

import time
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import aiohttp
from yarl import URL

from slack_emulator.oauth import AUTHORIZE_PATH
from slack_emulator.results import DriverResult, SlackDriverError, maybe_json
from slack_emulator.webio import with_query

REDIRECTS = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) slack-emulator-browser"


class _AuthorizeLinks(HTMLParser):
    """The href of every link to Slack's authorize page in an HTML page (entities decoded)."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href") if tag == "a" else None
        if href and AUTHORIZE_PATH in href:
            self.hrefs.append(href)


async def _get(http: aiohttp.ClientSession, url: str) -> tuple[int, str | None, str]:
    async with http.get(url, allow_redirects=False) as resp:
        return resp.status, resp.headers.get("Location"), await resp.text()


def _authorize_link(install_url: str, status: int, location: str | None, body: str) -> str:
    if status in REDIRECTS and location:
        return urljoin(install_url, location)
    if status == 200:
        parser = _AuthorizeLinks()
        parser.feed(body)
        if parser.hrefs:
            return urljoin(install_url, parser.hrefs[0])
    raise SlackDriverError(
        f"{install_url} answered HTTP {status} with neither a redirect nor an Add to Slack link: {body[:300]}"
    )


async def install(authorize_url: str, install_url: str, team: str, user: str | None) -> DriverResult:
    """Open install_url in a fresh browser, pick `team` (and `user`) on the authorize page, and return
    the app's answer on its redirect_uri (same-site redirects after it followed)."""
    origin = URL(install_url).origin()
    jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[origin])
    timeout = aiohttp.ClientTimeout(total=60)
    started = time.monotonic()
    http = aiohttp.ClientSession(cookie_jar=jar, timeout=timeout, headers={"User-Agent": USER_AGENT})
    async with http:
        status, location, body = await _get(http, install_url)
        link = _authorize_link(install_url, status, location, body)
        if urlsplit(link)._replace(query="", fragment="") != urlsplit(authorize_url):
            raise SlackDriverError(
                f"the app's install link goes to {link.partition('?')[0]}, not to the emulator's "
                f"{authorize_url} (set the app's authorization_url to it)"
            )
        status, location, body = await _get(http, with_query(link, team=team, user=user))
        if status != 302 or not location:
            raise SlackDriverError(f"the authorize page answered HTTP {status}: {body[:300]}")
        url = location
        for _ in range(5):
            status, location, body = await _get(http, url)
            if status not in REDIRECTS or not location:
                break
            following = urljoin(url, location)
            if URL(following).origin() != URL(url).origin():
                break  # e.g. the success page sending the person to the Slack client
            url = following
    return DriverResult(status, body, maybe_json(body), time.monotonic() - started)
