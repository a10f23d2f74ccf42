"""Liveness, readiness and startup probes -> ``healthcheck``, ``readiness`` and ``startup``.

Kubernetes' defaults are written out (period 10 s, timeout 1 s, failure threshold 3, success
threshold 1) because the spec's nulls mean docker's defaults, which differ. ``initialDelaySeconds``
becomes ``start_period``: Kubernetes does not probe during the delay, the agent probes but does not
count failures, so the container is judged at the same moment. A named port (``port: http``) is
resolved against the container's ports, as the kubelet does. ``$(VAR)`` in an exec command is
expanded as the kubelet expands it there: with the literal ``env`` values only. gRPC probes are
reported, not applied.
"""

from __future__ import annotations

from typing import Any

from translators.kubernetes import expansion, reporting
from translators.kubernetes.reporting import ObjectDiagnostics
from translators.paths import YamlPath

PROBES = {"livenessProbe": "healthcheck", "readinessProbe": "readiness", "startupProbe": "startup"}
_TIMING = {
    "periodSeconds": ("interval", 10, 1),
    "timeoutSeconds": ("timeout", 1, 1),
    "failureThreshold": ("retries", 3, 1),
    "successThreshold": ("success_threshold", 1, 1),
    "initialDelaySeconds": ("start_period", 0, 0),
}


def static_env(container: dict[str, Any]) -> dict[str, str]:
    """What the kubelet expands an exec probe's command with: each ``env`` entry's literal ``value``.

    Entries set through ``valueFrom`` count as empty, and values are not expanded themselves
    (``ExpandContainerCommandOnlyStatic``).
    """
    out: dict[str, str] = {}
    entries = container.get("env")
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            value = entry.get("value")
            out[entry["name"]] = value if isinstance(value, str) else ""
    return out


def container_probes(
    container: dict[str, Any], at: YamlPath, diag: ObjectDiagnostics, named_ports: dict[str, int]
) -> dict[str, Any]:
    """The spec's probe fields for a container."""
    out: dict[str, Any] = {}
    for key, spec_key in PROBES.items():
        if key in container:
            probe = _probe(container[key], at / key, diag, named_ports, liveness_like=key != "readinessProbe")
            if probe is not None:
                if "exec" in probe:
                    env = static_env(container)
                    probe["exec"] = [expansion.expand_with(arg, env) for arg in probe["exec"]]
                out[spec_key] = probe
    return out


def _probe(
    raw: object, at: YamlPath, diag: ObjectDiagnostics, named_ports: dict[str, int], *, liveness_like: bool
) -> dict[str, Any] | None:
    data = reporting.mapping(raw, at, diag)
    actions = ("exec", "httpGet", "tcpSocket", "grpc")
    reporting.check_keys(
        data,
        at,
        diag,
        {*actions, *_TIMING},
        {"terminationGracePeriodSeconds": "the pod's grace period applies"},
    )
    present = [a for a in actions if a in data]
    if len(present) != 1:
        diag.error(at, "expected exactly one of exec, httpGet, tcpSocket or grpc")
        return None
    action = present[0]
    out: dict[str, Any] = {}
    for key, (spec_key, default, minimum) in _TIMING.items():
        value = reporting.integer(data.get(key), at / key, diag, minimum=minimum)
        out[spec_key] = default if value is None else value
    if liveness_like and out["success_threshold"] != 1:
        diag.error(at / "successThreshold", "must be 1 for liveness and startup probes")
        return None
    act_at = at / action
    body = reporting.mapping(data[action], act_at, diag)
    if action == "grpc":
        diag.unsupported(act_at, "gRPC probes are not supported")
        return None
    if action == "exec":
        reporting.check_keys(body, act_at, diag, {"command"})
        command = reporting.strings(body.get("command"), act_at / "command", diag)
        if not command:
            diag.error(act_at / "command", "an exec probe needs a command")
            return None
        out["exec"] = command
    elif action == "httpGet":
        reporting.check_keys(body, act_at, diag, {"path", "port", "host", "scheme", "httpHeaders"})
        http: dict[str, Any] = {"path": reporting.string(body.get("path"), act_at / "path", diag) or "/"}
        scheme = reporting.string(body.get("scheme"), act_at / "scheme", diag) or "HTTP"
        if scheme not in ("HTTP", "HTTPS"):
            diag.error(act_at / "scheme", f"expected HTTP or HTTPS, got {scheme!r}")
        http["scheme"] = scheme.lower()
        host = reporting.string(body.get("host"), act_at / "host", diag)
        if host:
            http["host"] = host
        headers: dict[str, str] = {}
        for path, header in reporting.mappings(body.get("httpHeaders"), act_at / "httpHeaders", diag):
            reporting.check_keys(header, path, diag, {"name", "value"})
            header_name = reporting.string(header.get("name"), path / "name", diag, required=True)
            header_value = reporting.string(header.get("value"), path / "value", diag) or ""
            if header_name:
                headers[header_name] = header_value
        if headers:
            http["headers"] = headers
        port = _port(body.get("port"), act_at / "port", diag, named_ports)
        if port is None:
            return None
        out["http_get"] = {**http, "port": port}
    else:
        reporting.check_keys(body, act_at, diag, {"port", "host"})
        port = _port(body.get("port"), act_at / "port", diag, named_ports)
        if port is None:
            return None
        tcp: dict[str, Any] = {"port": port}
        host = reporting.string(body.get("host"), act_at / "host", diag)
        if host:
            tcp["host"] = host
        out["tcp_socket"] = tcp
    return out


def _port(raw: object, at: YamlPath, diag: ObjectDiagnostics, named_ports: dict[str, int]) -> int | None:
    if isinstance(raw, str) and not raw.isdigit():
        if raw not in named_ports:
            diag.error(at, f"no container port is named {raw!r}")
            return None
        return named_ports[raw]
    if isinstance(raw, str):
        raw = int(raw)
    port = reporting.integer(raw, at, diag, minimum=1)
    if port is None:
        if raw is None:
            diag.error(at, "required key is missing")
        return None
    if port > 65535:
        diag.error(at, f"expected a port from 1 to 65535, got {port}")
        return None
    return port
