"""Issue trackers (GitHub, Jira): the outbox row a follow-up becomes, the request that files it, and
the issue read back from the answer.

The stored body is exactly the JSON sent; tokens are read from the environment at delivery time.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from config.aftercare import GitHubTracker, JiraTracker
from config.policy import Policy
from domain.urls import safe_url
from storage.models import Followup, Incident

GITHUB, JIRA = "github", "jira"
KINDS = {GITHUB: "github.issue", JIRA: "jira.issue"}
GITHUB_TITLE_MAX = 256
JIRA_SUMMARY_MAX = 255  # Jira refuses a longer summary

Request = tuple[str, bytes, dict[str, str]]


def shortened(text: str, limit: int) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def description(incident: Incident, followup: Followup, owner: str) -> list[str]:
    """The issue's text, line by line: what, from which incident (only its ref when private), who, when."""
    where = incident.ref
    if not incident.private:
        where = f"{incident.ref}: {incident.title}"
        if incident.channel_name:
            where += f" (#{incident.channel_name})"
    return [
        followup.text,
        "",
        f"Follow-up of {where}",
        f"Owner: {owner}",
        f"Due: {followup.due_on.isoformat()}",
    ]


def _adf(lines: list[str]) -> dict[str, Any]:
    """An Atlassian Document Format document, one paragraph per non-empty line."""
    paragraphs = [
        {"type": "paragraph", "content": [{"type": "text", "text": line}]} for line in lines if line
    ]
    return {"type": "doc", "version": 1, "content": paragraphs}


def issue_bodies(
    policy: Policy, incident: Incident, followup: Followup, owner: str
) -> list[tuple[str, str, str]]:
    """(target, kind, JSON body) of each tracker the workspace's policy configures."""
    trackers = policy.trackers
    labels = ["incident", incident.ref]
    lines = description(incident, followup, owner)
    out = []
    if trackers.github is not None:
        issue = {
            "title": shortened(followup.text, GITHUB_TITLE_MAX),
            "body": "\n".join(lines),
            "labels": labels,
        }
        out.append((f"{GITHUB}:{followup.id}", KINDS[GITHUB], json.dumps(issue)))
    if trackers.jira is not None:
        fields = {
            "project": {"key": trackers.jira.project},
            "summary": shortened(followup.text, JIRA_SUMMARY_MAX),
            "description": _adf(lines),
            "issuetype": {"name": trackers.jira.issue_type},
            "labels": labels,
        }
        out.append((f"{JIRA}:{followup.id}", KINDS[JIRA], json.dumps({"fields": fields})))
    return out


def issue_request(
    policy: Policy, tracker: str, body: str, env: Mapping[str, str], headers: dict[str, str]
) -> Request | str:
    """URL, body and headers that file the issue now, or why it cannot be filed any more."""
    if tracker == GITHUB:
        gh = policy.trackers.github
        if gh is None:
            return "GitHub tracker no longer configured"
        token = env.get(gh.token_env)
        if not token:
            return f"environment variable {gh.token_env} is not set"
        auth = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }
        return f"{gh.api_url.rstrip('/')}/repos/{gh.repo}/issues", body.encode(), {**headers, **auth}
    jira = policy.trackers.jira
    if jira is None:
        return "Jira tracker no longer configured"
    email, token = env.get(jira.email_env), env.get(jira.token_env)
    if not email or not token:
        return f"environment variable {jira.token_env if email else jira.email_env} is not set"
    basic = base64.b64encode(f"{email}:{token}".encode()).decode()
    auth = {"Authorization": f"Basic {basic}", "Accept": "application/json"}
    return f"{jira.base_url.rstrip('/')}/rest/api/3/issue", body.encode(), {**headers, **auth}


def filed_issue(policy: Policy, tracker: str, answer: Any) -> tuple[str, str | None] | None:
    """(key, url) of the issue a successful answer describes, or None when it does not say; the URL
    is None unless it is an absolute http(s) one (a tracker may answer anything)."""
    if not isinstance(answer, dict):
        return None
    if tracker == GITHUB:
        gh: GitHubTracker | None = policy.trackers.github
        number, url = answer.get("number"), answer.get("html_url")
        if gh is None or not isinstance(number, int) or not isinstance(url, str):
            return None
        return f"{gh.repo}#{number}", safe_url(url)
    jira: JiraTracker | None = policy.trackers.jira
    key = answer.get("key")
    if jira is None or not isinstance(key, str) or not key:
        return None
    return key, safe_url(f"{jira.base_url.rstrip('/')}/browse/{quote(key)}")
