"""A pod template -> one spec per container, sharing the pod's network, volumes and lifecycle.

Specs are named ``<pod>-<container>``, and ``<namespace>.<pod>-<container>`` outside the ``default``
namespace so that one name in two namespaces makes two deployments; ``origin`` records the object
(kind, namespace, name, uid). Every spec of a pod gets ``group=<pod name>`` (namespaced the same way;
one network namespace, as containers of a pod share localhost), the template's labels, the copies count, and Kubernetes' defaults written out: a 30 s
``terminationGracePeriodSeconds`` and the pod's hostname (its name, or ``spec.hostname``), with
``<hostname>.<subdomain>`` as a network alias when ``spec.subdomain`` is set.

Init containers run in order, each once the previous one completed successfully; app containers
depend on the last one. An init container with ``restartPolicy: Always`` is a sidecar: it keeps
running, and what follows it waits until it has started. Failed init containers are retried unless
the pod's restartPolicy is Never, as the kubelet does.

``hostNetwork: true`` uses the host's network: no group (the host namespace is shared anyway) and
ports are only declared. Service environment variables (``<SVC>_SERVICE_HOST``) are not injected.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from translators.kubernetes import containers as ctrs
from translators.kubernetes import reporting, security, volumes
from translators.kubernetes.objects import Obj, Store
from translators.kubernetes.reporting import ObjectDiagnostics
from translators.kubernetes.templates import PodContext, PodTemplate
from translators.paths import YamlPath
from translators.spec.deployment import namespaced

NETWORK = "default"
GRACE_PERIOD = 30
RESTART = {"Always": {"policy": "always"}, "OnFailure": {"policy": "on-failure"}, "Never": {"policy": "no"}}
_HANDLED = {
    "containers",
    "initContainers",
    "volumes",
    "restartPolicy",
    "hostNetwork",
    "hostname",
    "subdomain",
    "terminationGracePeriodSeconds",
    "dnsConfig",
    "dnsPolicy",
    "hostAliases",
    "securityContext",
    "serviceAccountName",
    "serviceAccount",
    "automountServiceAccountToken",
    "enableServiceLinks",
    "activeDeadlineSeconds",
    "os",
}
_SCHEDULING = "scheduling: Berth runs every pod on this node"
_IGNORED = {
    "nodeSelector": _SCHEDULING,
    "affinity": _SCHEDULING,
    "tolerations": _SCHEDULING,
    "nodeName": _SCHEDULING,
    "schedulerName": _SCHEDULING,
    "priority": _SCHEDULING,
    "priorityClassName": _SCHEDULING,
    "topologySpreadConstraints": _SCHEDULING,
    "preemptionPolicy": _SCHEDULING,
    "schedulingGates": _SCHEDULING,
    "runtimeClassName": "runc is the runtime",
    "overhead": "the runtime class's overhead is not added to the limits",
    "readinessGates": "readiness gates are conditions set by other controllers: they are not checked",
    "imagePullSecrets": "registry credentials come from the agent's configuration",
    "hostPID": "host PID namespace",
    "hostIPC": "host IPC namespace",
    "hostUsers": "user namespaces",
    "shareProcessNamespace": "containers of a pod do not share a PID namespace",
    "setHostnameAsFQDN": "the host name is the short name: there is no cluster domain",
    "ephemeralContainers": "ephemeral containers are added to running pods for debugging: not run",
    "resourceClaims": "dynamic resource claims",
    "resources": "pod-level resources",
}
_DNS_POLICIES = ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")


@dataclass
class Pod:
    """The specs (plain dicts, not yet bound) of one pod, and what Services need to find them."""

    obj: Obj
    template: PodTemplate
    specs: list[dict[str, Any]] = field(default_factory=list)
    containers: list[ctrs.Container] = field(default_factory=list)
    host_network: bool = False
    named_volumes: dict[str, int | None] = field(default_factory=dict)

    def app_specs(self) -> list[tuple[ctrs.Container, dict[str, Any]]]:
        """Containers that serve (not init containers), with their specs."""
        return [
            (c, s) for c, s in zip(self.containers, self.specs, strict=True) if s["config"]["role"] != "init"
        ]


def translate_pod(obj: Obj, template: PodTemplate, store: Store, namespace: str) -> Pod:
    """All specs of one pod template."""
    diag, spec, at = obj.diag, template.spec, template.at
    reporting.check_keys(spec, at, diag, _HANDLED, _IGNORED)
    pod = Pod(obj, template)
    account = spec.get("serviceAccountName", spec.get("serviceAccount"))
    ctx = PodContext(
        obj, template, store, namespace, account if isinstance(account, str) and account else "default"
    )
    _deadline_and_os(spec, at, diag)
    if reporting.boolean(spec.get("automountServiceAccountToken"), at / "automountServiceAccountToken", diag):
        diag.unsupported(at / "automountServiceAccountToken", "there is no API server to issue tokens")
    pod.host_network = bool(reporting.boolean(spec.get("hostNetwork"), at / "hostNetwork", diag))
    init_raw = reporting.mappings(spec.get("initContainers"), at / "initContainers", diag)
    app_raw = reporting.mappings(spec.get("containers"), at / "containers", diag)
    if not app_raw and "containers" not in spec:
        diag.error(at / "containers", "required key is missing")
    names = [c.get("name") for _, c in (*init_raw, *app_raw)]
    for path, raw_container in (*init_raw, *app_raw):
        raw_name = raw_container.get("name")
        if isinstance(raw_name, str) and names.count(raw_name) > 1:
            diag.error(path / "name", f"duplicate container name {raw_name!r}")
    for _, raw_container in (*init_raw, *app_raw):
        if isinstance(raw_container.get("name"), str):
            limits = raw_container.get("resources")
            ctx.resources[raw_container["name"]] = limits if isinstance(limits, dict) else {}
    pod_volumes = volumes.pod_volumes(ctx, [c for _, c in (*init_raw, *app_raw)])
    pod_security = security.read_context(spec.get("securityContext"), at / "securityContext", diag, pod=True)
    security.warn_pod_level(pod_security, diag)
    common = _pod_config(ctx, pod)
    restart = _restart(ctx)
    previous: tuple[str, str] | None = None
    seen: set[str] = set()
    origin = {"kind": obj.kind, "namespace": namespace, "name": obj.name, "uid": _uid(obj)}
    for init, items in ((True, init_raw), (False, app_raw)):
        for path, raw in items:
            raw_name = raw.get("name")
            if isinstance(raw_name, str):
                if raw_name in seen:
                    continue  # reported above as a duplicate
                seen.add(raw_name)
            container = ctrs.read_container(
                ctx, raw, path, pod_volumes, pod_security, init=init, host_network=pod.host_network
            )
            if container is None:
                continue
            name = namespaced(namespace, f"{template.name}-{container.name}")
            config: dict[str, Any] = {**container.config, **copy.deepcopy(common)}
            if init and not container.sidecar:
                config["role"] = "init"
                never = spec.get("restartPolicy") == "Never"
                config["restart"] = {"policy": "no"} if never else {"policy": "on-failure"}
            else:
                config["role"] = template.role
                config["restart"] = {"policy": "always"} if container.sidecar else restart
            if previous is not None:
                config["depends_on"] = [{"name": previous[0], "condition": previous[1]}]
            if init:
                previous = (name, "started" if container.sidecar else "completed_successfully")
            pod.specs.append({"name": name, "image": container.image, "config": config, "origin": origin})
            pod.containers.append(container)
            pod.named_volumes.update(container.named_volumes)
    return pod


def _uid(obj: Obj) -> str | None:
    """metadata.uid, present in objects exported from a cluster (``kubectl get -o yaml``)."""
    meta = obj.data.get("metadata")
    uid = meta.get("uid") if isinstance(meta, dict) else None
    return uid if isinstance(uid, str) and uid else None


def config_origins(template: PodTemplate) -> dict[tuple[str | int, ...], YamlPath]:
    """Spec locations of the settings a pod gives all its containers, to the manifest's paths."""
    at = template.at
    return {
        ("config", "replicas"): YamlPath.of("spec", "replicas"),
        ("config", "labels"): at.parent / "metadata" / "labels",
        ("config", "stop_grace_period"): at / "terminationGracePeriodSeconds",
        ("config", "network"): at,
        ("config", "group"): at,
        ("config", "restart"): at / "restartPolicy",
    }


def _deadline_and_os(spec: dict[str, Any], at: YamlPath, diag: ObjectDiagnostics) -> None:
    deadline = reporting.integer(spec.get("activeDeadlineSeconds"), at / "activeDeadlineSeconds", diag)
    if deadline is not None:
        diag.unsupported(
            at / "activeDeadlineSeconds", f"the pod is not stopped after {deadline} s: no deadline is applied"
        )
    os_at = at / "os"
    os = reporting.mapping(spec.get("os"), os_at, diag)
    reporting.check_keys(os, os_at, diag, {"name"})
    name = reporting.string(os.get("name"), os_at / "name", diag)
    if name not in (None, "linux"):  # linux is what Berth runs: nothing to apply
        diag.unsupported(os_at / "name", f"Berth runs Linux containers, not {name}")


def pod_hostname(name: str) -> str:
    """The kubelet's host name for a pod name: at most 63 characters, no trailing '-' or '.'."""
    return name[:63].rstrip("-.") if len(name) > 63 else name


def _restart(ctx: PodContext) -> dict[str, Any]:
    template, diag = ctx.template, ctx.diag
    at = template.at / "restartPolicy"
    policy = reporting.string(template.spec.get("restartPolicy"), at, diag)
    if policy is None:
        if template.role == "job":
            diag.error(at, "a Job's pod template needs restartPolicy OnFailure or Never")
        policy = template.restart_policies[0]
    elif policy not in template.restart_policies:
        diag.error(
            at, f"expected {' or '.join(template.restart_policies)} for a {ctx.obj.kind}, got {policy!r}"
        )
        policy = template.restart_policies[0]
    if template.role == "job":
        retries = template.max_retries or 0
        return {"policy": "on-failure", "max_retries": retries} if retries else {"policy": "no"}
    return dict(RESTART[policy])


def _pod_config(ctx: PodContext, pod: Pod) -> dict[str, Any]:
    """Settings every container of the pod shares."""
    template, diag, spec, at = ctx.template, ctx.diag, ctx.template.spec, ctx.template.at
    config: dict[str, Any] = {"replicas": template.replicas}
    if template.labels:
        config["labels"] = dict(template.labels)
    grace = reporting.integer(
        spec.get("terminationGracePeriodSeconds"), at / "terminationGracePeriodSeconds", diag, minimum=0
    )
    config["stop_grace_period"] = GRACE_PERIOD if grace is None else grace
    network: dict[str, Any] = {}
    hostname = reporting.string(spec.get("hostname"), at / "hostname", diag)
    subdomain = reporting.string(spec.get("subdomain"), at / "subdomain", diag)
    if pod.host_network:
        network["mode"] = "host"
        for key in ("hostname", "subdomain"):
            if key in spec:
                diag.warn(at / key, "ignored with hostNetwork: the host's name is used")
    else:
        config["group"] = namespaced(ctx.namespace, template.name)
        network["hostname"] = pod_hostname(hostname or template.hostname or template.name)
        subdomain = subdomain or template.subdomain
        aliases = [f"{network['hostname']}.{subdomain}"] if subdomain else []
        network["networks"] = [{"name": NETWORK, "aliases": aliases}]
    dns = _dns(ctx)
    if dns:
        network["dns"] = dns
    hosts: list[str] = []
    for path, alias in reporting.mappings(spec.get("hostAliases"), at / "hostAliases", diag):
        reporting.check_keys(alias, path, diag, {"ip", "hostnames"})
        ip = reporting.string(alias.get("ip"), path / "ip", diag, required=True)
        for host in reporting.strings(alias.get("hostnames"), path / "hostnames", diag):
            if ip:
                hosts.append(f"{host}:{ip}")
    if hosts:
        network["extra_hosts"] = hosts
    config["network"] = network
    return config


def _dns(ctx: PodContext) -> dict[str, Any]:
    diag, spec, at = ctx.diag, ctx.template.spec, ctx.template.at
    policy = reporting.string(spec.get("dnsPolicy"), at / "dnsPolicy", diag) or "ClusterFirst"
    if policy not in _DNS_POLICIES:
        diag.error(at / "dnsPolicy", f"expected one of {', '.join(_DNS_POLICIES)}, got {policy!r}")
    elif policy == "Default":
        diag.warn(
            at / "dnsPolicy",
            "partly applied: the network's DNS server is used, which forwards to the host's resolvers",
        )
    config_at = at / "dnsConfig"
    config = reporting.mapping(spec.get("dnsConfig"), config_at, diag)
    reporting.check_keys(config, config_at, diag, {"nameservers", "searches", "options"})
    dns: dict[str, Any] = {}
    servers = reporting.strings(config.get("nameservers"), config_at / "nameservers", diag)
    searches = reporting.strings(config.get("searches"), config_at / "searches", diag)
    options: list[str] = []
    for path, option in reporting.mappings(config.get("options"), config_at / "options", diag):
        reporting.check_keys(option, path, diag, {"name", "value"})
        name = reporting.string(option.get("name"), path / "name", diag, required=True)
        value = reporting.string(option.get("value"), path / "value", diag)
        if name:
            options.append(f"{name}:{value}" if value else name)
    if policy == "None" and not servers:
        diag.error(config_at / "nameservers", "dnsPolicy None needs at least one nameserver")
    for dns_key, items in (("servers", servers), ("search", searches), ("options", options)):
        if items:
            dns[dns_key] = items
    return dns
