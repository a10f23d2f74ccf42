"""Liveness, readiness and startup probes.

We test these aspects:
- exec, httpGet (path, scheme, headers, host) and tcpSocket actions;
- Kubernetes' timing defaults written out; given timings mapped (initialDelaySeconds -> start_period);
- named ports resolved against the container's ports; an unknown name is an error;
- gRPC probes reported and not applied; successThreshold other than 1 refused for liveness.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.translators.kubernetes.helpers import messages, pod, spec, translate, warnings
from translators.spec import Probe

DEFAULTS = {"interval": 10.0, "timeout": 1.0, "retries": 3, "success_threshold": 1, "start_period": 0.0}

CASES = [
    (
        "exec liveness",
        "livenessProbe: {exec: {command: [cat, /tmp/ok]}}",
        "healthcheck",
        {"exec": ["cat", "/tmp/ok"], **DEFAULTS},
    ),
    (
        "http readiness with timings",
        "readinessProbe: {httpGet: {path: /healthz, port: 8080, scheme: HTTPS, "
        "httpHeaders: [{name: X-Probe, value: '1'}]}, initialDelaySeconds: 5, periodSeconds: 3, "
        "timeoutSeconds: 2, "
        "failureThreshold: 4, successThreshold: 2}",
        "readiness",
        {
            "http_get": {"port": 8080, "path": "/healthz", "scheme": "https", "headers": {"X-Probe": "1"}},
            "interval": 3.0,
            "timeout": 2.0,
            "retries": 4,
            "success_threshold": 2,
            "start_period": 5.0,
        },
    ),
    (
        "tcp startup on a named port",
        "startupProbe: {tcpSocket: {port: web}, failureThreshold: 30}",
        "startup",
        {"tcp_socket": {"port": 80}, **DEFAULTS, "retries": 30},
    ),
    (
        "http on a named port",
        "livenessProbe: {httpGet: {port: web}}",
        "healthcheck",
        {"http_get": {"port": 80, "path": "/"}, **DEFAULTS},
    ),
]


@pytest.mark.parametrize(("probe", "field", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_probes(probe: str, field: str, expected: dict[str, Any]) -> None:
    t = translate(pod(f"- name: c\n  image: nginx:1\n  ports: [{{containerPort: 80, name: web}}]\n  {probe}"))
    got = getattr(spec(t, "p-c").config, field)
    assert got == Probe.model_validate(expected)


def test_unknown_named_port_is_an_error() -> None:
    found = messages(pod("- name: c\n  image: nginx:1\n  livenessProbe: {tcpSocket: {port: nope}}"))
    assert found == [
        "input.yaml:9: Pod/p (document 1): spec.containers[0].livenessProbe.tcpSocket.port: "
        "no container port is named 'nope'"
    ]


def test_grpc_probe_is_reported_not_applied() -> None:
    t = translate(pod("- name: c\n  image: nginx:1\n  livenessProbe: {grpc: {port: 9000}}"))
    assert spec(t, "p-c").config.healthcheck is None
    assert any("livenessProbe.grpc: not supported by Berth" in w for w in warnings(t))


def test_liveness_success_threshold_must_be_one() -> None:
    found = messages(
        pod("- name: c\n  image: nginx:1\n  livenessProbe: {exec: {command: [x]}, successThreshold: 2}")
    )
    assert found == [
        "input.yaml:9: Pod/p (document 1): spec.containers[0].livenessProbe.successThreshold: "
        "must be 1 for liveness and startup probes"
    ]


def test_exec_probe_expands_literal_env_values_only() -> None:
    t = translate(
        pod("""
        - name: c
          image: busybox:1
          env:
          - {name: FILE, value: /tmp/ok}
          - {name: FROM_SECRET, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
          - {name: NESTED, value: "$(FILE).d"}
          livenessProbe: {exec: {command: [cat, "$(FILE)", "x$(FROM_SECRET)", "$(NESTED)", "$(UNSET)"]}}
        """)
    )
    probe = spec(t, "p-c").config.healthcheck
    assert probe is not None
    assert probe.exec == ["cat", "/tmp/ok", "x", "$(FILE).d", "$(UNSET)"]
