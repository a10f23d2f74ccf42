"""Services: how the pods they select are found by name and reached from outside.

Berth has no virtual IPs or kube-proxy; a Service is applied to the pods its selector picks:

- Every type (ClusterIP, headless ``clusterIP: None``, NodePort, LoadBalancer): the service name
  becomes a network alias of each selected container, so ``http://<service>`` resolves on the
  project network. Without a virtual IP there is no port remapping: when ``port`` differs from
  ``targetPort`` clients must use the target port (reported).
- NodePort and LoadBalancer also publish a host port to the selected pods' ``targetPort``:
  LoadBalancer on ``port``; NodePort on ``nodePort``, or on ``port`` when no nodePort is given
  (Kubernetes would pick a random one from 30000-32767). The mapping goes on the container that
  declares the target port (by name or number), else on the pod's first container.
- Services without a selector and ExternalName services are listed as not applied.
"""

from __future__ import annotations

from typing import Any

from translators.errors import Diagnostics
from translators.kubernetes import reporting
from translators.kubernetes.objects import Obj
from translators.kubernetes.pods import Pod
from translators.paths import YamlPath

SPEC = YamlPath.of("spec")
MAX_PORT = 65535
_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")
_HANDLED = {"type", "selector", "ports", "clusterIP", "clusterIPs", "externalName"}
_IGNORED = {
    "sessionAffinity": "",
    "sessionAffinityConfig": "",
    "externalTrafficPolicy": "",
    "internalTrafficPolicy": "",
    "ipFamilies": "",
    "ipFamilyPolicy": "",
    "publishNotReadyAddresses": "",
    "allocateLoadBalancerNodePorts": "",
    "healthCheckNodePort": "",
    "loadBalancerClass": "",
    "trafficDistribution": "",
    "loadBalancerIP": "no load balancer: ports are published on the host",
    "loadBalancerSourceRanges": "no load balancer: ports are published on every host address",
    "externalIPs": "ports are published on every host address",
}


def apply_service(obj: Obj, pods: list[Pod]) -> bool:
    """Apply one Service to the pods it selects; False when it is not applied at all."""
    diag = obj.diag
    reporting.check_keys(
        obj.data, YamlPath(), diag, {"apiVersion", "kind", "metadata", "spec"}, {"status": ""}
    )
    spec = reporting.mapping(obj.data.get("spec"), SPEC, diag)
    reporting.check_keys(spec, SPEC, diag, _HANDLED, _IGNORED)
    kind = reporting.string(spec.get("type"), SPEC / "type", diag) or "ClusterIP"
    if kind not in _TYPES:
        diag.error(SPEC / "type", f"expected one of {', '.join(_TYPES)}, got {kind!r}")
        return False
    if kind == "ExternalName":
        diag.warn(
            SPEC / "type",
            "ExternalName services are not applied: add the name to extra_hosts instead",
            code="not-applied",
        )
        return False
    selector = {k: v for k, v in reporting.mapping(spec.get("selector"), SPEC / "selector", diag).items()}
    if not selector:
        diag.warn(
            SPEC / "selector",
            "a Service without a selector is not applied: its endpoints are managed by hand",
            code="not-applied",
        )
        return False
    selected = [p for p in pods if all(p.template.labels.get(k) == v for k, v in selector.items())]
    if not selected:
        diag.warn(SPEC / "selector", "selects no pod of the input", code="notice")
    ports = [
        (p, port)
        for p, port in reporting.mappings(spec.get("ports"), SPEC / "ports", diag)
        if _in_range(port, p, diag)
    ]
    for pod in selected:
        _alias(obj, pod)
        for path, port in ports:
            _port(obj, pod, kind, port, path)
    return True


def _in_range(port: dict[str, Any], at: YamlPath, diag: Diagnostics) -> bool:
    """Port numbers above 65535 are reported here, once, rather than on every pod they select."""
    fine = True
    for key in ("port", "nodePort"):
        value = port.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > MAX_PORT:
            diag.error(at / key, f"expected a port from 1 to {MAX_PORT}, got {value}")
            fine = False
    return fine


def _alias(obj: Obj, pod: Pod) -> None:
    if pod.host_network:
        obj.diag.warn(
            SPEC / "selector",
            f"{pod.obj.ref} uses the host's network: {obj.name!r} is not a network alias of it",
            code="notice",
        )
        return
    for _, spec in pod.app_specs():
        for network in spec["config"]["network"].get("networks", []):
            if obj.name not in network["aliases"]:
                network["aliases"] = [*network["aliases"], obj.name]


def _port(obj: Obj, pod: Pod, kind: str, port: dict[str, Any], at: YamlPath) -> None:
    diag = obj.diag
    reporting.check_keys(
        port, at, diag, {"name", "port", "targetPort", "nodePort", "protocol"}, {"appProtocol": ""}
    )
    number = reporting.integer(port.get("port"), at / "port", diag, minimum=1)
    if number is None:
        if "port" not in port:
            diag.error(at / "port", "required key is missing")
        return
    protocol = (reporting.string(port.get("protocol"), at / "protocol", diag) or "TCP").lower()
    target_raw = port.get("targetPort") or number  # 0 or "" is an unset IntOrString: the port
    apps = pod.app_specs()
    if not apps:
        return
    container, spec = apps[0]
    if isinstance(target_raw, str) and not target_raw.isdigit():
        owners = [(c, s) for c, s in apps if target_raw in c.ports]
        if not owners:
            diag.error(at / "targetPort", f"no container of {pod.obj.ref} has a port named {target_raw!r}")
            return
        container, spec = owners[0]
        target = container.ports[target_raw]
    else:
        value = reporting.integer(
            int(target_raw) if isinstance(target_raw, str) else target_raw, at / "targetPort", diag, minimum=1
        )
        if value is None:
            return
        target = value
        owners = [
            (c, s) for c, s in apps if any(p["container"] == target for p in s["config"].get("ports", []))
        ]
        if owners:
            container, spec = owners[0]
    if kind == "ClusterIP" or pod.host_network:
        if number != target:
            diag.warn(
                at / "port",
                f"not remapped: there is no virtual IP, clients reach {obj.name}:{target}, "
                f"not {obj.name}:{number}",
                code="notice",
            )
        return
    host = number
    if kind == "NodePort":
        node_port = reporting.integer(port.get("nodePort"), at / "nodePort", diag, minimum=1)
        if node_port is None:
            diag.warn(at, f"no nodePort: published on host port {number}", code="notice")
        else:
            host = node_port
    elif "nodePort" in port:
        diag.unsupported(at / "nodePort", "a LoadBalancer Service is published on its port")
    if pod.template.replicas > 1:
        diag.warn(
            at, f"{pod.obj.ref} runs {pod.template.replicas} copies: only one can bind host port {host}"
        )
    config = spec["config"]
    existing = config.setdefault("ports", [])
    for mapping in existing:
        if mapping["container"] == target and mapping["protocol"] == protocol and "host" not in mapping:
            mapping["host"] = host
            return
    existing.append({"container": target, "host": host, "protocol": protocol})
