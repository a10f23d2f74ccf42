"""No input crashes the translator: it translates or raises InvalidSpec.

We test these aspects:
- random mappings built from Kubernetes-like keys and values, as documents;
- real manifests (corpus files and golden inputs) with one value replaced by a random one, or one
  key removed, anywhere in the tree;
- random text given to the loader.
"""

from __future__ import annotations

import contextlib
import copy
import json
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.paths import CORPUS, ROOT
from translators import kubernetes
from translators.errors import InvalidSpec
from translators.yamlio import Document

KEYS = [
    "apiVersion", "kind", "metadata", "name", "namespace", "labels", "annotations", "spec", "template",
    "containers", "initContainers", "image", "command", "args", "env", "envFrom", "value", "valueFrom",
    "configMapKeyRef", "secretKeyRef", "fieldRef", "fieldPath", "resourceFieldRef", "resource", "key",
    "optional", "prefix", "configMapRef", "secretRef", "ports", "containerPort", "hostPort", "protocol",
    "volumes", "volumeMounts", "mountPath", "subPath", "hostPath", "path", "emptyDir", "medium", "configMap",
    "secret", "secretName", "items", "mode", "defaultMode", "persistentVolumeClaim", "claimName", "projected",
    "sources", "livenessProbe", "httpGet", "tcpSocket", "exec", "port", "securityContext", "runAsUser",
    "capabilities", "add", "drop", "resources", "limits", "requests", "cpu", "memory", "selector",
    "matchLabels", "replicas", "restartPolicy", "data", "stringData", "type", "targetPort", "nodePort",
    "hostNetwork", "dnsConfig", "hostAliases", "jobTemplate", "schedule", "backoffLimit", "items",
]  # fmt: skip
KINDS = ["Pod", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ConfigMap", "Secret", "Service",
         "PersistentVolumeClaim", "List", "Ingress", "ReplicationController"]  # fmt: skip
APIS = ["v1", "apps/v1", "batch/v1", "networking.k8s.io/v1"]

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**33), max_value=2**33),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from([*KINDS, *APIS, "busybox", "nginx:1", "/data", "500m", "512Mi", "Memory", "$(A)", "http",
                     "RuntimeDefault", "Always", "NodePort", "a", "A", "80"]),
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), children, max_size=5),
    ),
    max_leaves=25,
)
objects = st.fixed_dictionaries(
    {"apiVersion": st.sampled_from(APIS), "kind": st.sampled_from(KINDS),
     "metadata": st.fixed_dictionaries({"name": st.sampled_from(["a", "b", "c"])})},
    optional={"spec": values, "data": values, "items": st.lists(values, max_size=2)},
)  # fmt: skip


def translate_or_invalid(docs: list[Document]) -> None:
    with contextlib.suppress(InvalidSpec):
        kubernetes.translate(docs)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(objects, values), max_size=4))
def test_random_documents_never_crash(data: list[Any]) -> None:
    translate_or_invalid([Document(d, "input.yaml", i) for i, d in enumerate(data)])


def _manifests() -> list[list[Any]]:
    paths = [
        *sorted((CORPUS / "k8s").rglob("*"))[::6],
        *sorted((ROOT / "tests" / "golden" / "kubernetes").rglob("input.yaml")),
    ]
    out = []
    for path in paths:
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        docs = [json.loads(text)] if path.suffix == ".json" else list(yaml.safe_load_all(text))
        out.append([d for d in docs if d is not None])
    return out


MANIFESTS = _manifests()


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            out += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out += _paths(item, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn) -> list[Any]:
    docs = copy.deepcopy(draw(st.sampled_from(MANIFESTS)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = [p for p in _paths(docs) if p]
        path = draw(st.sampled_from(paths))
        parent: Any = docs
        for part in path[:-1]:
            parent = parent[part]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(values)
    return list(docs)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_manifests_never_crash(docs: list[Any]) -> None:
    translate_or_invalid([Document(d, "input.yaml", i) for i, d in enumerate(docs)])


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_random_text_never_crashes(text: str) -> None:
    with contextlib.suppress(InvalidSpec):
        translate_or_invalid(kubernetes.load_text(text, "input.yaml"))
