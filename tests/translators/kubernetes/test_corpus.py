"""Every Kubernetes manifest of the shared corpus (kompose outputs, podman kube play inputs).

We test these aspects:
- every file translates, or fails with the error this table expects, for the reason given;
- the result is sensible, checked against the manifest read independently (plain PyYAML/json):
  one spec per container (init containers included) of every workload, named
  ``<workload>-<container>`` with the manifest's image, and every kind Berth does not apply listed
  in Project.not_applied;
- files meant to be played together (a Deployment and its ConfigMap) translate together.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.paths import CORPUS, corpus_cases
from translators import kubernetes
from translators.errors import InvalidSpec
from translators.result import Translation

pytestmark = pytest.mark.corpus

K8S = CORPUS / "k8s"
FILES = sorted(p for p in K8S.rglob("*") if p.is_file())

# file -> (text the first error contains, why this input is refused)
EXPECTED_ERRORS = {
    "ansible-podman/multi-yaml.yaml": (
        "ConfigMap/foo (document 1): apiVersion: required key is missing",
        "the ConfigMap has no apiVersion: kubectl refuses it too",
    ),
    "ansible-podman/play3.yaml": (
        'ConfigMap "envdata" is not in the input',
        "the ConfigMap is in envdata.yaml, played alongside (see test_files_played_together)",
    ),
    "ansible-podman/play-root3.yaml": (
        'ConfigMap "envdata" is not in the input',
        "the ConfigMap is in envdata.yaml, played alongside (see test_files_played_together)",
    ),
    "kompose/compose-env-no-interpolation__output-k8s.yaml": (
        "invalid image reference '${DOCKER_REGISTRY-}foo:${IMAGE_TAG:-latest}'",
        "kompose left compose interpolation in the image name",
    ),
    "kompose/env-multiple__output-k8s.yaml": (
        'ConfigMap "hadoop-hive-namenode-env" has no key "BAR"',
        "kompose refers to the first service's ConfigMap; BAR is in hadoop-hive-namenode-env1",
    ),
    "kompose/secrets__output-short-k8s.json": (
        'Secret "my_other_secret" is not in the input',
        "an external compose secret: kompose does not emit it",
    ),
    "kompose/unused__merge-multiple-compose__output-other-toplevel-merge-template.json": (
        "configMap.defaultMode: expected a file mode from 0 to 0777 (511), got 644",
        "644 written as a decimal number is mode 01204, which the API server refuses",
    ),
    "kompose/unused__merge-multiple-compose__output-other-toplevel-override-template.json": (
        "configMap.defaultMode: expected a file mode from 0 to 0777 (511), got 644",
        "644 written as a decimal number is mode 01204, which the API server refuses",
    ),
    "kompose/volume-mounts__hostpath__output-k8s-template.json": (
        "hostPath.path: must be an absolute path, got '%HOSTPATH%'",
        "a kompose test placeholder stands for the host path",
    ),
    "kompose/volume-mounts__windows__output-k8s.yaml": (
        "mountPath: must be an absolute path, got 'D:\\\\config'",
        "a Windows path: Berth runs Linux containers",
    ),
}

WORKLOADS = {
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
}
REFERENCED = {"ConfigMap", "Secret", "PersistentVolumeClaim", "Service"}


def raw_objects(paths: list[Path]) -> list[dict[str, Any]]:
    """The manifest's objects, read with plain PyYAML or json, lists flattened."""
    out: list[dict[str, Any]] = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        docs = [json.loads(text)] if path.suffix == ".json" else list(yaml.safe_load_all(text))
        for doc in docs:
            if isinstance(doc, dict) and str(doc.get("kind", "")).endswith("List"):
                out.extend(doc["items"])
            elif doc:
                out.append(doc)
    return out


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    if obj["kind"] == "Pod":
        return dict(obj["spec"])
    if obj["kind"] == "CronJob":
        return dict(obj["spec"]["jobTemplate"]["spec"]["template"]["spec"])
    return dict(obj["spec"]["template"]["spec"])


def expected_specs(objs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    out = []
    for obj in objs:
        if obj.get("kind") in WORKLOADS:
            spec = pod_spec(obj)
            for container in [*spec.get("initContainers", []), *spec["containers"]]:
                name = f"{obj['metadata']['name']}-{container['name']}"
                namespace = obj["metadata"].get("namespace", "default")
                out.append((name if namespace == "default" else f"{namespace}.{name}", container["image"]))
    return out


def check_sensible(t: Translation, objs: list[dict[str, Any]]) -> None:
    assert sorted((s.name, s.image) for s in t.specs) == sorted(expected_specs(objs))
    not_applied = {
        f"{o['kind']}/{o['metadata']['name']}" for o in objs if o["kind"] not in WORKLOADS | REFERENCED
    }
    assert not_applied <= set(t.project.not_applied)
    assert t.project.order == [s.name for s in t.specs]


def translate_files(paths: list[Path]) -> Translation:
    docs = [d for p in paths for d in kubernetes.load_text(p.read_text(encoding="utf-8"), str(p))]
    return kubernetes.translate(docs)


@pytest.mark.parametrize(
    "path", corpus_cases([pytest.param(p, id=str(p.relative_to(K8S))) for p in FILES], 1)
)
def test_corpus_file(path: Path) -> None:
    key = str(path.relative_to(K8S))
    if key in EXPECTED_ERRORS:
        expected, _reason = EXPECTED_ERRORS[key]
        with pytest.raises(InvalidSpec) as info:
            translate_files([path])
        assert expected in str(info.value.diagnostics[0]) or expected in str(info.value.diagnostics[-1])
        return
    check_sensible(translate_files([path]), raw_objects([path]))


@pytest.mark.parametrize("name", ["play3.yaml", "play-root3.yaml"])
def test_files_played_together(name: str) -> None:
    paths = [K8S / "ansible-podman" / name, K8S / "ansible-podman" / "envdata.yaml"]
    t = translate_files(paths)
    check_sensible(t, raw_objects(paths))
    env = [e for s in t.specs for e in s.config.env]
    assert "var1=somevalue1" in env
    assert "key2=value2" in env


def test_corpus_is_covered_by_the_table() -> None:
    assert len(FILES) > 100
    assert set(EXPECTED_ERRORS) <= {str(p.relative_to(K8S)) for p in FILES}
