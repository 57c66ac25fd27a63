"""The part of kustomize that deploy/kubernetes uses, so the suite renders the manifests without kubectl.

Supported: `resources` (files and directories with a kustomization), `namespace`, `images`,
`replicas` and `configMapGenerator` (files, literals; behavior create, merge, replace; the name hash
kustomize gives and the references it rewrites). Any other field of a kustomization is refused, so
using one in deploy/kubernetes fails the suite until it is implemented here (or checked otherwise).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

Resource = dict[str, Any]

SUPPORTED = {"apiVersion", "kind", "resources", "namespace", "images", "replicas", "configMapGenerator"}
GENERATOR_KEYS = {"name", "behavior", "files", "literals"}
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PriorityClass",
}
SCALABLE = {"Deployment", "ReplicaSet", "StatefulSet", "ReplicationController"}
# Where a pod spec names a ConfigMap: kustomize rewrites these to the generated, hashed name.
CONFIGMAP_REFS = {"configMap", "configMapRef", "configMapKeyRef"}
GENERATED = "__generated__"  # marks a generated ConfigMap until the hash is added at the end


class KustomizeError(ValueError):
    """A kustomization this renderer cannot render as kustomize would."""


def render(folder: Path) -> list[Resource]:
    """The resources `kubectl kustomize folder` prints (in no particular order)."""
    resources = _build(folder.resolve())
    _hash_generated(resources)
    return resources


def _build(folder: Path) -> list[Resource]:
    spec = _kustomization(folder)
    unknown = set(spec) - SUPPORTED
    if unknown:
        raise KustomizeError(f"{folder}: unsupported kustomization fields {sorted(unknown)}")
    resources: list[Resource] = []
    for entry in spec.get("resources", []):
        path = (folder / entry).resolve()
        if path.is_dir():
            resources += _build(path)
        else:
            resources += [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
    for generator in spec.get("configMapGenerator", []):
        _generate(folder, generator, resources)
    if "namespace" in spec:
        for res in resources:
            if res["kind"] not in CLUSTER_SCOPED:
                res["metadata"]["namespace"] = spec["namespace"]
    for image in spec.get("images", []):
        for container in _containers(resources):
            container["image"] = _retag(container["image"], image)
    for replica in spec.get("replicas", []):
        matched = [r for r in resources if r["kind"] in SCALABLE and r["metadata"]["name"] == replica["name"]]
        if not matched:
            raise KustomizeError(f"{folder}: replicas names no workload {replica['name']!r}")
        for res in matched:
            res["spec"]["replicas"] = replica["count"]
    return resources


def _kustomization(folder: Path) -> dict[str, Any]:
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        if (folder / name).is_file():
            return yaml.safe_load((folder / name).read_text()) or {}
    raise KustomizeError(f"{folder}: no kustomization file")


def _generate(folder: Path, generator: dict[str, Any], resources: list[Resource]) -> None:
    unknown = set(generator) - GENERATOR_KEYS
    if unknown:
        raise KustomizeError(f"{folder}: unsupported configMapGenerator keys {sorted(unknown)}")
    data: dict[str, str] = {}
    for literal in generator.get("literals", []):
        key, _, value = literal.partition("=")
        data[key] = value
    for entry in generator.get("files", []):
        key, _, path = entry.rpartition("=")
        data[key or Path(path).name] = (folder / path).read_text()
    name, behavior = generator["name"], generator.get("behavior", "create")
    existing = [r for r in resources if r.get(GENERATED) and r["metadata"]["name"] == name]
    if behavior == "create":
        if existing:
            raise KustomizeError(f"{folder}: ConfigMap {name} exists already (behavior merge or replace)")
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}
        resources.append({**cm, GENERATED: True})
    elif behavior in ("merge", "replace"):
        if not existing:
            raise KustomizeError(f"{folder}: behavior {behavior} but no ConfigMap {name} to {behavior}")
        existing[0]["data"] = {**existing[0]["data"], **data} if behavior == "merge" else data
    else:
        raise KustomizeError(f"{folder}: unknown behavior {behavior!r}")


def _containers(resources: list[Resource]) -> Iterator[dict[str, Any]]:
    """Every container and init container, wherever a resource holds a pod spec."""
    for node in _walk(resources):
        for key in ("containers", "initContainers"):
            if isinstance(node.get(key), list):
                yield from node[key]


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _split_image(image: str) -> tuple[str, str]:
    """(name, ":tag" or "@digest" or "")."""
    if "@" in image:
        name, digest = image.split("@", 1)
        return name, "@" + digest
    slash = image.rfind("/")
    colon = image.rfind(":")
    if colon > slash:
        return image[:colon], image[colon:]
    return image, ""


def _retag(image: str, rule: dict[str, Any]) -> str:
    name, suffix = _split_image(image)
    if name != rule["name"]:
        return image
    if rule.get("digest"):
        suffix = "@" + rule["digest"]
    elif rule.get("newTag"):
        suffix = ":" + str(rule["newTag"])
    return rule.get("newName", name) + suffix


def _hash_generated(resources: list[Resource]) -> None:
    """Name each generated ConfigMap `<name>-<hash of its content>` and point every reference at it."""
    renamed: dict[tuple[str | None, str], str] = {}
    for res in resources:
        if res.pop(GENERATED, False):
            meta = res["metadata"]
            hashed = f"{meta['name']}-{configmap_hash(res['data'])}"
            renamed[(meta.get("namespace"), meta["name"])] = hashed
            meta["name"] = hashed
    for res in resources:
        namespace = res["metadata"].get("namespace")
        for node in _walk(res):
            for key in CONFIGMAP_REFS & node.keys():
                ref = node[key]
                if isinstance(ref, dict) and (namespace, ref.get("name")) in renamed:
                    ref["name"] = renamed[(namespace, ref["name"])]


def configmap_hash(data: dict[str, str]) -> str:
    """kustomize's suffix: sha256 of Go's JSON of {data, kind, name}, its first 10 hex digits with
    0 1 3 a e spelt g h k m t. kustomize looks the name up as the one field name "metadata/name", which no
    resource has, so the name it hashes is always empty."""
    fields = {"data": data, "kind": "ConfigMap", "name": ""}
    encoded = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for char in "<>&\u2028\u2029":  # Go's encoder escapes these; json.dumps does not
        encoded = encoded.replace(char, f"\\u{ord(char):04x}")
    digest = hashlib.sha256(encoded.encode()).hexdigest()[:10]
    return digest.translate(str.maketrans("013ae", "ghkmt"))
