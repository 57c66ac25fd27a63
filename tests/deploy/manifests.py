"""The rendered Kubernetes manifests of deploy/kubernetes, and what the tests read from them."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate

from tests.deploy.kustomize import Resource, render

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
BASE, OVERLAY = KUBERNETES / "base", KUBERNETES / "overlays" / "example"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
SECRET = "incident-bot"  # the Secret the README has people create
WORKLOADS = ("Deployment", "Job")


def validate(resources: list[Resource], version: str) -> None:
    """Each resource against Kubernetes' own schema of `version`, strictly (an unknown field fails)."""
    for res in resources:
        kubernetes_validate.validate(res, version, strict=True)


def one(resources: list[Resource], kind: str, name: str) -> Resource:
    [found] = [r for r in resources if r["kind"] == kind and r["metadata"]["name"] == name]
    return found


def pods(resources: list[Resource]) -> Iterator[tuple[Resource, dict[str, Any]]]:
    """(workload, its pod spec) of every Deployment and Job."""
    for res in resources:
        if res["kind"] in WORKLOADS:
            yield res, res["spec"]["template"]["spec"]


def container(workload: Resource) -> dict[str, Any]:
    [only] = workload["spec"]["template"]["spec"]["containers"]
    return only


def port_number(c: dict[str, Any], port: int | str) -> int:
    """A probe's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int):
        return port
    [number] = [p["containerPort"] for p in c.get("ports", []) if p.get("name") == port]
    return int(number)


def flag(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def environment(resources: list[Resource], c: dict[str, Any]) -> dict[str, str]:
    """The plain values a container gets: its ConfigMaps (envFrom) under its own `value`s."""
    env: dict[str, str] = {}
    for source in c.get("envFrom", []):
        env |= one(resources, "ConfigMap", source["configMapRef"]["name"])["data"]
    return env | {e["name"]: e["value"] for e in c.get("env", []) if "value" in e}


def secret_refs(c: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Variable name → its secretKeyRef."""
    return {
        e["name"]: e["valueFrom"]["secretKeyRef"]
        for e in c.get("env", [])
        if "secretKeyRef" in e.get("valueFrom", {})
    }


def rendered() -> dict[str, list[Resource]]:
    return {"base": render(BASE), "overlay": render(OVERLAY)}
