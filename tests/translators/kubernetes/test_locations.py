"""Spec-level errors are reported where the manifest wrote the value, with its line.

We test these aspects:
- errors only the spec models find (a port above 65535, a volume name with '/') name the manifest's
  path (``ports[1].containerPort``, ``volumeMounts[0]``) and its line, not the spec's location;
- every spec location a container's keys produce maps back to its manifest key: ports, resources
  (limits, requests, a CPU weight from the limit it defaults to), env entries (the entry that set
  the variable last, envFrom included), volume mounts, tmpfs, probes, command and args, and the
  pod-wide settings (grace period, restart policy);
- a location nothing maps to falls back to the container.
"""

from __future__ import annotations

import textwrap

import pytest

from tests.translators.kubernetes.helpers import errors
from translators import kubernetes
from translators.kubernetes import objects, pods, translating, workloads
from translators.kubernetes.objects import Obj, Store
from translators.kubernetes.reporting import ObjectDiagnostics

PORTS = """
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  containers:
    - name: a
      image: busybox:1
      ports:
        - containerPort: 80
        - containerPort: 70000
        - containerPort: 81
          hostPort: 70001
"""
MOUNT = """
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  volumes: [{name: v, persistentVolumeClaim: {claimName: a/b}}]
  containers:
    - name: a
      image: busybox:1
      volumeMounts:
        - {name: v, mountPath: /data}
"""
SPEC_ERRORS = [
    (
        "ports",
        PORTS,
        [
            ("spec.containers[0].ports[1].containerPort", 11, "port must be between 1 and 65535"),
            ("spec.containers[0].ports[2].hostPort", 13, "port must be between 0 and 65535"),
        ],
    ),
    ("volume mount", MOUNT, [("spec.containers[0].volumeMounts[0]", 11, "must not contain '/'")]),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in SPEC_ERRORS], ids=[c[0] for c in SPEC_ERRORS])
def test_spec_errors_point_at_the_manifest(text: str, expected: list[tuple[str, int, str]]) -> None:
    found = errors(text)
    assert [(d.path.split(": ", 1)[1], d.line) for d in found] == [(p, line) for p, line, _ in expected]
    for diag, (_, _, message) in zip(found, expected, strict=True):
        assert message in diag.message


FULL = """
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {FROM_MAP: x}
---
apiVersion: v1
kind: Pod
metadata: {name: p}
spec:
  terminationGracePeriodSeconds: 5
  restartPolicy: OnFailure
  volumes: [{name: m, emptyDir: {medium: Memory}}, {name: d, emptyDir: {}}]
  containers:
    - name: a
      image: busybox:1
      command: [sh]
      args: [-c, x]
      envFrom: [{configMapRef: {name: cfg}}]
      env: [{name: A, value: "1"}, {name: B, value: "2"}, {name: A, value: "3"}]
      ports: [{containerPort: 80, hostPort: 8080}]
      resources: {limits: {cpu: "1", memory: 64Mi}, requests: {memory: 32Mi}}
      volumeMounts: [{name: d, mountPath: /d}, {name: m, mountPath: /m}]
      livenessProbe: {exec: {command: ["true"]}}
"""
C = "spec.containers[0]"
ORIGINS = [
    (("config", "ports", 0, "container"), f"{C}.ports[0].containerPort"),
    (("config", "ports", 0, "host"), f"{C}.ports[0].hostPort"),
    (("config", "ports", 0), f"{C}.ports[0]"),
    (("config", "resources", "cpu"), f"{C}.resources.limits.cpu"),
    (("config", "resources", "memory"), f"{C}.resources.limits.memory"),
    (("config", "resources", "memory_reservation"), f"{C}.resources.requests.memory"),
    (("config", "resources", "cpu_shares"), f"{C}.resources.limits.cpu"),
    (("config", "env", 0), f"{C}.envFrom[0]"),
    (("config", "env", 1), f"{C}.env[2]"),
    (("config", "env", 2), f"{C}.env[1]"),
    (("config", "volumes", 0, "target"), f"{C}.volumeMounts[0]"),
    (("config", "tmpfs", 0), f"{C}.volumeMounts[1]"),
    (("config", "healthcheck", "exec"), f"{C}.livenessProbe"),
    (("config", "entrypoint", 0), f"{C}.command"),
    (("config", "cmd"), f"{C}.args"),
    (("config", "stop_grace_period"), "spec.terminationGracePeriodSeconds"),
    (("config", "restart", "policy"), "spec.restartPolicy"),
    (("image",), f"{C}.image"),
    (("config", "init"), C),
]


def _full_pod() -> pods.Pod:
    docs = kubernetes.load_text(textwrap.dedent(FULL), "input.yaml")
    store = Store()
    config_map = docs[0]
    store.config_maps["cfg"] = objects.read_config_map(
        Obj("v1", "ConfigMap", "cfg", "default", config_map.data, ObjectDiagnostics(lines=config_map.lines))
    )
    pod_doc = docs[1]
    obj = Obj("v1", "Pod", "p", "default", pod_doc.data, ObjectDiagnostics(lines=pod_doc.lines))
    template = workloads.pod(obj)
    assert template is not None
    found = pods.translate_pod(obj, template, store, "default")
    assert not obj.diag.errors
    return found


@pytest.mark.parametrize(("loc", "path"), ORIGINS, ids=[".".join(map(str, loc)) for loc, _ in ORIGINS])
def test_spec_locations_map_to_manifest_keys(loc: tuple[str | int, ...], path: str) -> None:
    pod = _full_pod()
    [container] = pod.containers
    assert pod.specs[0]["config"]["env"] == ["FROM_MAP=x", "A=3", "B=2"]
    where = translating.origins(pod, container)
    assert str(where(loc)) == path
