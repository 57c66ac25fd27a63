"""After the incident, in the policy file: postmortem deadlines, archiving channels, issue trackers."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator

from config.fields import OptionalDuration, Strict
from config.integrations import check_env_name, check_url
from domain.severity import Severity


class PostmortemDue(Strict):
    """How long after resolution the postmortem is due, per severity (`none`: not required)."""

    sev1: OptionalDuration = timedelta(hours=48)
    sev2: OptionalDuration = timedelta(days=7)
    sev3: OptionalDuration = None
    sev4: OptionalDuration = None

    def of(self, severity: Severity) -> timedelta | None:
        """The deadline of a severity, or None."""
        return getattr(self, severity.key)  # type: ignore[no-any-return]


class Postmortem(Strict):
    """`[postmortem]`: its deadline; the commander is reminded when it is due and daily after."""

    due: PostmortemDue = PostmortemDue()
    remind_every: OptionalDuration = timedelta(days=1)


class Channels(Strict):
    """`[channels]`: a resolved incident's channel is archived this long after resolution, once no
    follow-up of it is open (`off`: never)."""

    archive_after: OptionalDuration = timedelta(days=7)


class GitHubTracker(Strict):
    """`[trackers.github]`: each follow-up becomes an issue in `repo` (owner/name)."""

    repo: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
    token_env: str = "GITHUB_TOKEN"
    webhook_secret_env: str = "GITHUB_WEBHOOK_SECRET"
    api_url: str = "https://api.github.com"

    _check_url = field_validator("api_url")(classmethod(lambda cls, v: check_url(v)))
    _check_env = field_validator("token_env", "webhook_secret_env")(
        classmethod(lambda cls, v: check_env_name(v))
    )


class JiraTracker(Strict):
    """`[trackers.jira]`: each follow-up becomes an issue in `project` of the Jira at `base_url`."""

    base_url: str
    project: str = Field(pattern=r"^[A-Z][A-Z0-9_]{0,19}$")
    email_env: str = "JIRA_EMAIL"
    token_env: str = "JIRA_API_TOKEN"
    issue_type: str = "Task"

    _check_url = field_validator("base_url")(classmethod(lambda cls, v: check_url(v)))
    _check_env = field_validator("email_env", "token_env")(classmethod(lambda cls, v: check_env_name(v)))


class Trackers(Strict):
    """`[trackers]`: where follow-ups are also filed (none by default)."""

    github: GitHubTracker | None = None
    jira: JiraTracker | None = None
