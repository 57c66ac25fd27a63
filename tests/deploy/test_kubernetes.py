"""deploy/kubernetes, rendered as kustomize would and checked without a cluster: Kubernetes' schemas, the
probes and rollout of each side, non-root pods, pinned images, secrets only by reference, a migrate Job
that a release can wait for."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, get_args

import kubernetes_validate
import pytest
import yaml
from pydantic import SecretStr

from config.aftercare import GitHubTracker, JiraTracker
from config.integrations import Statuspage
from config.settings import Settings
from tests.deploy.kustomize import KustomizeError, render
from tests.deploy.manifests import (
    BASE,
    KUBERNETES,
    OVERLAY,
    ROOT,
    SECRET,
    VERSION,
    container,
    environment,
    flag,
    one,
    pods,
    port_number,
    rendered,
    secret_refs,
    validate,
)

# The oldest Kubernetes release still maintained upstream, and the newest whose schemas are installed.
KUBERNETES_VERSIONS = ["1.32", kubernetes_validate.utils.latest_version()]
RENDERED = rendered()
EACH = pytest.mark.parametrize("which", ["base", "overlay"])
# Secrets the bot reads: every SecretStr setting (Socket Mode's app token aside: these pods serve HTTP),
# the database URL (it holds the password), and the variables the policy's integrations name by default.
SOCKET_MODE_ONLY = {"SLACK_APP_TOKEN"}
INTEGRATION_DEFAULTS = [
    (GitHubTracker, "token_env"),
    (GitHubTracker, "webhook_secret_env"),
    (JiraTracker, "email_env"),
    (JiraTracker, "token_env"),
    (Statuspage, "api_key_env"),
]
SECRETS = (
    {name.upper() for name, f in Settings.model_fields.items() if SecretStr in get_args(f.annotation)}
    - SOCKET_MODE_ONLY
    | {"DATABASE_URL", "SLACK_CLIENT_ID"}
    | {str(model.model_fields[field].default) for model, field in INTEGRATION_DEFAULTS}
)
REQUIRED = {"DATABASE_URL", "SLACK_SIGNING_SECRET"}  # HTTP mode cannot start without them


@EACH
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_the_rendered_manifests_are_valid_kubernetes(which: str, version: str) -> None:
    resources = RENDERED[which]
    kinds = sorted({r["kind"] for r in resources})
    assert {"Deployment", "Job", "Service", "PodDisruptionBudget", "ConfigMap"} <= set(kinds), kinds
    validate(resources, version)


def _copy(tmp_path: Path) -> Path:
    shutil.copytree(KUBERNETES, tmp_path / "kubernetes")
    return tmp_path / "kubernetes"


@pytest.mark.parametrize(
    ("file", "good", "bad"),
    [
        ("base/web.yaml", "containerPort: 3000", "containerPort: three-thousand"),  # a wrong type
        ("base/worker.yaml", "          livenessProbe:", "          livenesProbe:"),  # a misspelt field
        ("base/migrate-job.yaml", "  backoffLimit: 4\n", "  backoffLimit: 4\n  ttlSecondsAfter: 60\n"),
        ("overlays/example/ingress.yaml", "pathType: Prefix", "pathType: []"),
    ],
)
def test_a_broken_manifest_fails_the_check(tmp_path: Path, file: str, good: str, bad: str) -> None:
    tree = _copy(tmp_path)
    path = tree / file
    assert good in path.read_text()
    path.write_text(path.read_text().replace(good, bad, 1))
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(render(tree / "overlays" / "example"), KUBERNETES_VERSIONS[-1])


def test_a_kustomize_feature_the_renderer_lacks_is_refused(tmp_path: Path) -> None:
    tree = _copy(tmp_path)
    kustomization = tree / "overlays" / "example" / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text() + "patches:\n  - path: more.yaml\n")
    with pytest.raises(KustomizeError, match="patches"):
        render(kustomization.parent)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed (the suite needs none)")
@EACH
def test_the_renderer_agrees_with_kubectl_kustomize(which: str) -> None:
    folder = BASE if which == "base" else OVERLAY
    cmd = ["kubectl", "kustomize", str(folder)]
    printed = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout
    theirs = [doc for doc in yaml.safe_load_all(printed) if doc]
    key = lambda r: (r["kind"], r["metadata"]["name"])  # noqa: E731
    assert sorted(RENDERED[which], key=key) == sorted(theirs, key=key)


@EACH
def test_the_web_side_rolls_without_dropping_slack(which: str) -> None:
    resources = RENDERED[which]
    web = one(resources, "Deployment", "incident-bot-web")
    c = container(web)
    assert c["command"][:4] == ["incident-bot", "serve", "--http", "--no-worker"]
    assert web["spec"]["replicas"] >= 2
    rolling = web["spec"]["strategy"]
    assert rolling["type"] == "RollingUpdate" and rolling["rollingUpdate"]["maxUnavailable"] == 0
    listens = int(flag(c["command"], "--port"))
    _probes(c, listens, readiness="/readyz", liveness="/healthz")
    service = one(resources, "Service", "incident-bot")
    assert service["spec"]["selector"].items() <= web["spec"]["template"]["metadata"]["labels"].items()
    assert {port_number(c, p["targetPort"]) for p in service["spec"]["ports"]} == {listens}


@EACH
def test_the_worker_side_has_its_own_replicas_and_probes(which: str) -> None:
    resources = RENDERED[which]
    worker = one(resources, "Deployment", "incident-bot-worker")
    c = container(worker)
    assert c["command"][:2] == ["incident-bot", "worker"]
    assert worker["spec"]["replicas"] >= 1
    assert worker["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    _probes(c, int(flag(c["command"], "--port")), readiness="/readyz", liveness="/healthz")
    # The worker's grace outlasts [delivery] shutdown_grace, so a step in flight can finish.
    assert worker["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > 25


def _probes(c: dict[str, Any], port: int, *, readiness: str, liveness: str) -> None:
    """Readiness, liveness and a startup probe, each an HTTP GET on the port the process listens on."""
    for probe, path in (
        ("readinessProbe", readiness),
        ("livenessProbe", liveness),
        ("startupProbe", liveness),
    ):
        get = c[probe]["httpGet"]
        assert get["path"] == path and port_number(c, get["port"]) == port, probe
    # Start-up migrates and may wait behind another migration: minutes, not the default 30 s.
    startup = c["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 120


@EACH
def test_each_side_keeps_pods_through_a_drain(which: str) -> None:
    resources = RENDERED[which]
    budgets = [r for r in resources if r["kind"] == "PodDisruptionBudget"]
    for name in ("incident-bot-web", "incident-bot-worker"):
        labels = one(resources, "Deployment", name)["spec"]["template"]["metadata"]["labels"]
        covering = [b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        assert len(covering) == 1, name
        assert covering[0]["spec"].get("maxUnavailable") == 1


def _dockerfile_user() -> tuple[int, int]:
    [user] = re.findall(r"^USER\s+(\S+)", (ROOT / "Dockerfile").read_text(), re.M)
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and gid.isdigit(), "a numeric USER: runAsNonRoot cannot check a name"
    return int(uid), int(gid)


@EACH
def test_every_pod_runs_as_non_root_on_a_read_only_root(which: str) -> None:
    uid, gid = _dockerfile_user()
    assert uid != 0
    for workload, pod in pods(RENDERED[which]):
        name = workload["metadata"]["name"]
        security = pod["securityContext"]
        assert security["runAsNonRoot"] is True, name
        assert (security["runAsUser"], security["runAsGroup"]) == (uid, gid), name
        assert pod["automountServiceAccountToken"] is False, name
        volumes = {v["name"]: v for v in pod["volumes"]}
        for c in pod["containers"]:
            own = c["securityContext"]
            assert own["readOnlyRootFilesystem"] is True and own["allowPrivilegeEscalation"] is False, name
            assert own["capabilities"]["drop"] == ["ALL"], name
            # The only writable path: /tmp, for anything that asks for a temporary file.
            [tmp] = [m for m in c["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert "emptyDir" in volumes[tmp["name"]], name


@EACH
def test_images_are_pinned_to_the_release(which: str) -> None:
    for workload, pod in pods(RENDERED[which]):
        for c in pod["containers"]:
            name, _, tag = c["image"].rpartition(":")
            assert "@sha256:" in c["image"] or (name and "/" not in tag), c["image"]
            assert tag not in ("", "latest"), workload["metadata"]["name"]
            assert tag == VERSION, f"{c['image']}: the base's images tag is pyproject.toml's version"
            if which == "overlay":
                assert name == "registry.example.com/incident-bot"


@EACH
def test_secrets_only_by_reference(which: str) -> None:
    resources = RENDERED[which]
    assert not [r for r in resources if r["kind"] == "Secret"], "the Secret is made by hand, never shipped"
    plain = {key for r in resources if r["kind"] == "ConfigMap" for key in r["data"]}
    assert not plain & SECRETS
    refs = {}
    for workload, pod in pods(resources):
        for c in pod["containers"]:
            inline = {e["name"] for e in c.get("env", []) if "value" in e}
            assert not inline & SECRETS, workload["metadata"]["name"]
            for name, ref in secret_refs(c).items():
                assert ref["name"] == SECRET and ref["key"] == name, name
                assert ref.get("optional", False) is (name not in REQUIRED), name
            refs[workload["metadata"]["name"]] = set(secret_refs(c))
    assert refs["incident-bot-web"] == refs["incident-bot-worker"] == SECRETS
    assert refs["incident-bot-migrate"] == {"DATABASE_URL"}


@EACH
def test_every_container_has_requests_and_limits(which: str) -> None:
    for workload, pod in pods(RENDERED[which]):
        for c in pod["containers"]:
            requests, limits = c["resources"]["requests"], c["resources"]["limits"]
            assert requests.keys() == limits.keys() == {"cpu", "memory"}, workload["metadata"]["name"]
            assert _quantity(requests["memory"]) <= _quantity(limits["memory"])
            assert _quantity(requests["cpu"]) <= _quantity(limits["cpu"])


def _quantity(value: str) -> float:
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    for unit, factor in units.items():
        if str(value).endswith(unit):
            return float(str(value)[: -len(unit)]) * factor
    return float(value)


@EACH
def test_the_migrate_job_is_one_a_release_can_wait_for(which: str) -> None:
    resources = RENDERED[which]
    [job] = [r for r in resources if r["kind"] == "Job"]
    meta = job["metadata"]
    assert meta["name"] == "incident-bot-migrate" and "generateName" not in meta
    assert "ttlSecondsAfterFinished" not in job["spec"], "deleted early, `kubectl wait` finds nothing"
    c = container(job)
    assert c["command"] == ["incident-bot", "db", "upgrade"]
    assert environment(resources, c)["LOG_FORMAT"] == "json"
    # As an Argo CD PreSync hook it runs before this release's ConfigMaps exist: it needs none.
    pod = job["spec"]["template"]["spec"]
    assert not [v for v in pod["volumes"] if "configMap" in v] and "envFrom" not in c
    assert pod["restartPolicy"] == "Never" and job["spec"]["backoffLimit"] >= 1
    assert meta["annotations"]["argocd.argoproj.io/hook"] == "PreSync"
