"""The overlay's ConfigMaps as the pods see them: the settings that are not secrets, and the policy file
and runbooks mounted where INCIDENT_BOT_CONFIG points, read by `incident-bot runbooks check`."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.kustomize import Resource
from tests.deploy.manifests import ROOT, container, environment, one, pods, rendered

OVERLAY = rendered()["overlay"]
SIDES = pytest.mark.parametrize("name", ["incident-bot-web", "incident-bot-worker"])


def test_every_configmap_a_pod_names_is_rendered_with_its_content_hash() -> None:
    names = {r["metadata"]["name"] for r in OVERLAY if r["kind"] == "ConfigMap"}
    for workload, pod in pods(OVERLAY):
        named = {v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v}
        named |= {s["configMapRef"]["name"] for c in pod["containers"] for s in c.get("envFrom", [])}
        assert named <= names, workload["metadata"]["name"]
        # A changed policy or runbook is a new name, so the pods roll onto it.
        assert all(re.fullmatch(r"incident-bot-[a-z]+-[a-z0-9]{10}", n) for n in named)


@SIDES
def test_settings_that_are_not_secrets_come_from_a_configmap(name: str) -> None:
    env = environment(OVERLAY, container(one(OVERLAY, "Deployment", name)))
    assert env["LOG_FORMAT"] == "json"
    assert env["INCIDENT_BOT_PUBLIC_URL"] == "https://incidents.example.com"
    ingress = one(OVERLAY, "Ingress", "incident-bot")
    assert [rule["host"] for rule in ingress["spec"]["rules"]] == ["incidents.example.com"]


def _mount(resources: list[Resource], pod: dict[str, Any], c: dict[str, Any], root: Path) -> None:
    """Write the container's ConfigMap volumes under `root` as the kubelet mounts them."""
    volumes = {v["name"]: v for v in pod["volumes"]}
    for mount in c["volumeMounts"]:
        source = volumes[mount["name"]].get("configMap")
        if source is None:
            continue
        data = one(resources, "ConfigMap", source["name"])["data"]
        target = root / mount["mountPath"].lstrip("/")
        files = (
            {target: data[mount["subPath"]]}
            if "subPath" in mount
            else {target / k: v for k, v in data.items()}
        )
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)


@SIDES
def test_the_policy_and_its_runbooks_are_read_where_the_pods_mount_them(tmp_path: Path, name: str) -> None:
    workload = one(OVERLAY, "Deployment", name)
    c = container(workload)
    _mount(OVERLAY, workload["spec"]["template"]["spec"], c, tmp_path)
    config = environment(OVERLAY, c)["INCIDENT_BOT_CONFIG"]
    policy = tmp_path / config.lstrip("/")
    assert policy.read_text() == (ROOT / "deploy/kubernetes/overlays/example/incident-bot.toml").read_text()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LOG_", "INCIDENT_BOT_"))}
    env.pop("DATABASE_URL", None)
    check = subprocess.run(
        [sys.executable, "-m", "bot", "runbooks", "check"],
        cwd=tmp_path, env={**env, "INCIDENT_BOT_CONFIG": str(policy)},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"checkout (services[0]): {tmp_path}/config/runbooks/checkout.md" in check.stdout
    assert "1 service checked: 0 with errors" in check.stdout


def test_the_readme_commands_name_what_the_manifests_make() -> None:
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Deploying on Kubernetes\n", 1)[1].split("\n## ", 1)[0]
    commands = [line.strip() for line in section.splitlines() if line.strip().startswith("kubectl ")]
    [namespace] = {r["metadata"]["namespace"] for r in OVERLAY}
    [job] = [r["metadata"]["name"] for r in OVERLAY if r["kind"] == "Job"]
    [secret] = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for _, pod in pods(OVERLAY)
        for c in pod["containers"]
        for e in c.get("env", [])
        if "valueFrom" in e
    }
    assert f"kubectl -n {namespace} create secret generic {secret} --from-env-file=.env" in commands
    applied = [c.split()[-1] for c in commands if c.startswith("kubectl apply -k ")]
    assert applied and all((ROOT / path / "kustomization.yaml").is_file() for path in applied)
    assert f"kubectl -n {namespace} delete job {job} --ignore-not-found" in commands
    assert any(
        c.startswith(f"kubectl -n {namespace} wait --for=condition=complete job/{job} ") for c in commands
    )
    rolled = {c.split("/")[-1] for c in commands if " rollout status deployment/" in c}
    assert rolled == {r["metadata"]["name"] for r in OVERLAY if r["kind"] == "Deployment"}
    assert f"kubectl create namespace {namespace}" in section
