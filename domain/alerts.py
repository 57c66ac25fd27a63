"""Alertmanager webhook notifications (version 4): what they hold, and their validation."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

MAX_TITLE = 200
# PostgreSQL text cannot hold NUL, and a lone surrogate cannot be encoded for Slack or the database.
_BAD_TEXT = re.compile("[\x00\ud800-\udfff]")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class PayloadError(ValueError):
    """The body is not an Alertmanager v4 webhook notification; the message says why."""


@dataclass(frozen=True)
class Alert:
    """One alert of a notification."""

    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    generator_url: str | None
    fingerprint: str

    @property
    def name(self) -> str:
        """The alertname label."""
        return self.labels.get("alertname", "alert")


@dataclass(frozen=True)
class Notification:
    """A webhook notification (version 4)."""

    group_key: str
    status: str
    alerts: list[Alert]
    common_labels: dict[str, str] = field(default_factory=dict)
    common_annotations: dict[str, str] = field(default_factory=dict)


def _str_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise PayloadError(f"{where} must be an object of strings")
    return dict(value)


def _path(where: str, key: str) -> str:
    if _NAME.match(key):
        return f"{where}.{key}" if where else key
    return f"{where}[{json.dumps(key)}]"


def _check_text(data: Any) -> None:
    """PayloadError naming the first string, key or value, anywhere (unknown fields too), that
    holds a NUL or a lone surrogate."""

    def problem(text: str) -> str | None:
        bad = _BAD_TEXT.search(text)
        if bad is None:
            return None
        return "a NUL byte" if bad.group() == "\x00" else "invalid Unicode (a lone surrogate)"

    todo: list[tuple[Any, str]] = [(data, "")]  # depth first, in document order, without recursion
    while todo:
        value, where = todo.pop()
        if isinstance(value, str):
            if said := problem(value):
                raise PayloadError(f"{where or 'body'} contains {said}")
        elif isinstance(value, dict):
            for key in value:
                if said := problem(key):
                    raise PayloadError(f"{where or 'body'}: a key ({json.dumps(key)}) contains {said}")
            todo.extend((v, _path(where, k)) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            todo.extend((v, f"{where}[{i}]") for i, v in reversed(list(enumerate(value))))


def parse(body: bytes) -> Notification:
    """Validate and read a notification; PayloadError names the first problem."""
    try:
        # Strictly UTF-8, as JSON over HTTP is: json.loads(bytes) would also take UTF-16 and UTF-32.
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"body is not valid UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise PayloadError(f"body is not JSON: {exc}") from None
    _check_text(data)
    if not isinstance(data, dict):
        raise PayloadError("body must be a JSON object")
    if data.get("version") != "4":
        raise PayloadError(f'version must be "4", got {data.get("version")!r}')
    group_key = data.get("groupKey")
    if not isinstance(group_key, str) or not group_key:
        raise PayloadError("groupKey must be a non-empty string")
    status = data.get("status")
    if status not in ("firing", "resolved"):
        raise PayloadError('status must be "firing" or "resolved"')
    raw_alerts = data.get("alerts")
    if not isinstance(raw_alerts, list) or not raw_alerts:
        raise PayloadError("alerts must be a non-empty list")
    alerts = []
    for i, raw in enumerate(raw_alerts):
        if not isinstance(raw, dict):
            raise PayloadError(f"alerts[{i}] must be an object")
        if raw.get("status") not in ("firing", "resolved"):
            raise PayloadError(f'alerts[{i}].status must be "firing" or "resolved"')
        labels = _str_map(raw.get("labels"), f"alerts[{i}].labels")
        if not labels:
            raise PayloadError(f"alerts[{i}].labels must not be empty")
        url = raw.get("generatorURL")
        fingerprint = raw.get("fingerprint")
        if not isinstance(fingerprint, str) or not fingerprint:
            fingerprint = hashlib.sha256(json.dumps(sorted(labels.items())).encode()).hexdigest()[:16]
        alerts.append(
            Alert(
                status=raw["status"],
                labels=labels,
                annotations=_str_map(raw.get("annotations"), f"alerts[{i}].annotations"),
                generator_url=url
                if isinstance(url, str) and url.startswith(("http://", "https://"))
                else None,
                fingerprint=fingerprint[:64],
            )
        )
    return Notification(
        group_key=group_key,
        status=status,
        alerts=alerts,
        common_labels=_str_map(data.get("commonLabels"), "commonLabels"),
        common_annotations=_str_map(data.get("commonAnnotations"), "commonAnnotations"),
    )
