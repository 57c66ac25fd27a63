"""Set-up and deployment files agree: lock files, the image, compose, and `make serve` with its manifest."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PACKAGES = {p.rstrip("*") for p in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]}


def _pins(lock: Path) -> dict[str, tuple[str, int]]:
    """Each pinned package of a lock file: its version and how many hashes it carries."""
    pins: dict[str, tuple[str, int]] = {}
    name = ""
    for line in lock.read_text().splitlines():
        if match := re.match(r"([A-Za-z0-9._-]+)==([^ ;\\]+)", line):
            name = canonicalize_name(match[1])
            pins[name] = (match[2], 0)
        elif line.strip().startswith("--hash=sha256:") and name:
            version, hashes = pins[name]
            pins[name] = (version, hashes + 1)
    return pins


def _requirements(*extras: str) -> list[Requirement]:
    project = PYPROJECT["project"]
    wanted = list(project["dependencies"])
    for extra in extras:
        wanted += project["optional-dependencies"][extra]
    return [Requirement(text) for text in wanted]


@pytest.mark.parametrize(("lock", "extras"), [("requirements.lock", ()), ("requirements-dev.lock", ("dev",))])
def test_lock_pins_every_dependency_with_hashes(lock: str, extras: tuple[str, ...]) -> None:
    pins = _pins(ROOT / lock)
    for req in _requirements(*extras):
        name = canonicalize_name(req.name)
        assert name in pins, f"{lock} lacks {req}: run `make lock`"
        assert req.specifier.contains(pins[name][0], prereleases=True), f"{lock}: {name} outside {req}"
    unhashed = [name for name, (_, hashes) in pins.items() if not hashes]
    assert not unhashed, f"{lock}: pins without a hash: {unhashed}"


def test_runtime_lock_is_the_dev_lock_without_dev_tools() -> None:
    runtime, dev = _pins(ROOT / "requirements.lock"), _pins(ROOT / "requirements-dev.lock")
    assert {name: pin[0] for name, pin in runtime.items()} == {n: dev[n][0] for n in runtime if n in dev}
    dev = PYPROJECT["project"]["optional-dependencies"]["dev"]
    dev_tools = {canonicalize_name(Requirement(text).name) for text in dev}
    assert not dev_tools & runtime.keys(), "the image needs no test tools"


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n\s*", " ", dockerfile.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(maxsplit=1)[0].upper(), line.split(maxsplit=1)[1]) for line in lines]


def test_image_installs_the_lock_before_the_sources() -> None:
    steps = _instructions(ROOT / "Dockerfile")
    [base] = [arg for op, arg in steps if op == "FROM"]
    assert re.fullmatch(r"python:3\.\d+\.\d+-slim-\w+@sha256:[0-9a-f]{64}", base), base
    copies = [(i, arg.split()[:-1]) for i, (op, arg) in enumerate(steps) if op == "COPY"]
    assert copies[0][1] == ["requirements.lock"], "the lock alone first: its layer outlives code changes"
    runs = [(i, arg) for i, (op, arg) in enumerate(steps) if op == "RUN"]
    [deps] = [i for i, arg in runs if "--require-hashes -r requirements.lock" in arg]
    [project] = [i for i, arg in runs if "pip install --no-deps ." in arg]
    assert copies[0][0] < deps < copies[1][0] and copies[-1][0] < project
    copied = {source for _, sources in copies for source in sources}
    assert PACKAGES <= copied, f"the image lacks packages: {sorted(PACKAGES - copied)}"


def test_dockerignore_lets_in_only_what_the_image_copies() -> None:
    lines = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    patterns = [line for line in lines if line and not line.startswith("#")]
    assert patterns[0] == "*", "deny by default: .venv, .git, databases and .env stay out of the context"
    allowed = {p[1:] for p in patterns if p.startswith("!")}
    steps = _instructions(ROOT / "Dockerfile")
    copied = {source for op, arg in steps if op == "COPY" for source in arg.split()[:-1]}
    assert allowed == copied


def _stops_on(compose: str, env: dict[str, str]) -> list[str]:
    """Variables whose `${VAR:?…}` stops `docker compose`: it checks every service in the file."""
    text = (ROOT / compose).read_text()
    required = re.findall(r"\$\{(\w+)(:?)\?[^}]*\}", text)
    return sorted({var for var, colon in required if var not in env or (colon and not env[var])})


def test_compose_stops_at_once_on_an_empty_signing_secret() -> None:
    token = {"SLACK_BOT_TOKEN": "xoxb-1"}
    assert _stops_on("docker-compose.yml", {**token, "SLACK_SIGNING_SECRET": ""}) == ["SLACK_SIGNING_SECRET"]
    assert _stops_on("docker-compose.yml", token) == ["SLACK_SIGNING_SECRET"]
    assert _stops_on("docker-compose.yml", {**token, "SLACK_SIGNING_SECRET": "s"}) == []
    assert _stops_on("docker-compose.socket.yml", {**token, "SLACK_APP_TOKEN": ""}) == ["SLACK_APP_TOKEN"]
    assert _stops_on("docker-compose.socket.yml", {**token, "SLACK_APP_TOKEN": "xapp-1"}) == []


def test_compose_files_run_the_mode_their_secrets_are_for() -> None:
    http = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    socket = yaml.safe_load((ROOT / "docker-compose.socket.yml").read_text())["services"]
    assert "--http" in http["bot"]["command"] and "SLACK_SIGNING_SECRET" in http["bot"]["environment"]
    [bot] = [s for s in socket.values() if "command" in s]
    assert "--http" not in bot["command"] and "SLACK_APP_TOKEN" in bot["environment"]


def _make(*args: str) -> subprocess.CompletedProcess[str]:
    """`make -n`: the commands a target would run. Clean of the flags of a `make test` that runs us."""
    env = {k: v for k, v in os.environ.items() if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL"}}
    cmd = ["make", "--no-print-directory", "-n", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)


def test_make_serve_and_the_first_manifest_agree() -> None:
    assert "incident-bot serve --http" in _make("serve").stdout
    [socket] = [line for line in _make("serve-socket").stdout.splitlines() if "incident-bot serve" in line]
    assert "incident-bot serve" in socket and "--http" not in socket
    assert (
        "incident-bot manifest --http-url 'https://incidents.example.com'"
        in _make("manifest", "URL=https://incidents.example.com").stdout
    )
    no_url = _make("manifest")
    assert no_url.returncode != 0 and "URL=https://" in no_url.stderr
    setup = (ROOT / "README.md").read_text().split("## Slack app setup", 1)[1].split("\n## ", 1)[0]
    assert setup.index("make manifest URL=") < setup.index("manifest-socket.yml"), "HTTP, as `make serve`"
    assert yaml.safe_load((ROOT / "manifest-socket.yml").read_text())["settings"]["socket_mode_enabled"]


# What compose fixes on purpose: the PostgreSQL service it runs and the policy file it mounts.
COMPOSE_FIXES = {
    "DATABASE_URL": "postgresql://incident:incident@postgres:5432/incident",
    "INCIDENT_BOT_CONFIG": "/config/incident-bot.toml",
}


def _interpolate(value: str, dotenv: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?message}`, read from `.env`."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match[1], match[2] or "", match[3] or ""
        given = dotenv.get(name, "")
        if op == ":-":
            return given or arg
        if op == ":?":
            assert given, f"compose stops: {arg}"
        return given

    return re.sub(r"\$\{(\w+)(?:(:-|:\?|-|\?)([^}]*))?\}", one, value)


def _container_env(service: dict[str, object], dotenv: dict[str, str]) -> dict[str, str]:
    """The environment a service's container gets when `.env` holds `dotenv` (and the shell nothing)."""
    env: dict[str, str] = {}
    files = service.get("env_file") or []
    for entry in [files] if isinstance(files, str | dict) else files:
        path = entry if isinstance(entry, str) else entry["path"]  # type: ignore[index]
        if path in (".env", "./.env"):
            env.update(dotenv)
    given = service.get("environment") or {}
    assert isinstance(given, dict)
    env.update({key: _interpolate(str(value), dotenv) for key, value in given.items()})
    return env


@pytest.mark.parametrize("compose", ["docker-compose.yml", "docker-compose.socket.yml"])
def test_compose_passes_every_setting_from_dotenv(compose: str) -> None:
    from config.settings import Settings

    names = [name.upper() for name in Settings.model_fields]
    # Settings, and variables the policy file names (Statuspage, PagerDuty, GitHub keys).
    dotenv = {name: f"value-of-{name.lower()}" for name in names}
    dotenv |= {"STATUSPAGE_API_KEY": "sp-key", "PAGERDUTY_ROUTING_KEY": "pd-key", "GITHUB_TOKEN": "gh-token"}
    dotenv |= {"LOG_LEVEL": "debug", "LOG_FORMAT": "text"}
    services = yaml.safe_load((ROOT / compose).read_text())["services"]
    bots = [service for service in services.values() if "incident-bot" in str(service.get("command"))]
    assert bots, compose
    for service in bots:
        env = _container_env(service, dotenv)
        for name, value in dotenv.items():
            expected = COMPOSE_FIXES.get(name, value)
            assert env.get(name) == expected, f"{compose}: {name} does not reach the bot from .env"
    if compose == "docker-compose.yml":
        # Without a .env file (variables from the shell), compose still starts with the tokens alone.
        tokens = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
        env = _container_env({**bots[0], "env_file": []}, tokens)
        assert env["LOG_FORMAT"] == "json", "JSON logs unless .env says otherwise"
        assert all(env.get(name) != "" for name in ("LOG_LEVEL", "SLACK_API_URL")), "an empty one is invalid"


def test_readme_states_the_build_context_size_dockerignore_leaves() -> None:
    lines = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()]
    allowed = [line[1:] for line in lines if line.startswith("!")]
    files = [
        path
        for name in allowed
        for path in ([ROOT / name] if (ROOT / name).is_file() else (ROOT / name).rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    ]
    size = sum(path.stat().st_size for path in files) / 1e6
    stated = re.search(r"about ([\d.]+) MB of build context", (ROOT / "README.md").read_text())
    assert stated, "README states the build context size"
    assert 0.75 * size <= float(stated[1]) <= 1.25 * size, f"the build context is {size:.2f} MB"
