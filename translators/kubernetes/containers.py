"""One container of a pod -> the ``image`` and ``config`` of one spec.

``command`` becomes the spec's ``entrypoint`` and ``args`` its ``cmd``. Kubernetes ignores the
image's ENTRYPOINT and CMD when ``command`` is set, and ``args`` alone keeps the image's ENTRYPOINT
and replaces its CMD: the spec's rule (:meth:`ContainerConfig.argv`, docker's) is the same, an
entrypoint set drops the image's CMD, so ``command`` without ``args`` is ``cmd: null``. Both have
``$(VAR)`` expanded against the container's environment.

Spec errors found when binding are reported at the manifest's path: :attr:`Container.origins`
maps spec locations (``config.ports[0].container``) to where they came from
(``ports[0].containerPort``). ``imagePullPolicy`` defaults as in Kubernetes: Always for ``:latest``
or an untagged image, IfNotPresent otherwise. A port with a ``hostPort`` is published; without one
it is only exposed (Services may publish it, see :mod:`translators.kubernetes.services`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from translators.kubernetes import env as envs
from translators.kubernetes import expansion, probes, reporting, resources, security, volumes
from translators.kubernetes.templates import PodContext
from translators.paths import YamlPath

PULL_POLICIES = {"Always": "always", "IfNotPresent": "missing", "Never": "never"}
_HANDLED = {
    "name",
    "image",
    "command",
    "args",
    "env",
    "envFrom",
    "ports",
    "resources",
    "volumeMounts",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "securityContext",
    "imagePullPolicy",
    "workingDir",
    "tty",
    "stdin",
    "restartPolicy",
}
_IGNORED = {
    "lifecycle": "postStart and preStop hooks are not run",
    # the termination message only ever reaches the pod's status, which Berth does not keep
    "terminationMessagePath": "",
    "terminationMessagePolicy": "",
    "stdinOnce": "stdin stays open",
    "volumeDevices": "raw block devices are not supported",
    "resizePolicy": "",  # how a later in-place resize restarts the container: nothing resizes here
}


@dataclass
class Container:
    """A container read from a pod, ready to become a spec."""

    name: str
    image: str
    config: dict[str, Any]
    at: YamlPath
    ports: dict[str, int] = field(default_factory=dict)
    """Named ports: name to container port."""
    named_volumes: dict[str, int | None] = field(default_factory=dict)
    sidecar: bool = False
    """An init container with ``restartPolicy: Always``: started before the app, kept running."""
    origins: dict[tuple[str | int, ...], YamlPath] = field(default_factory=dict)
    """Spec locations (``("config", "ports", 0)``) to the manifest paths they were read from."""

    def origin(self, loc: tuple[str | int, ...]) -> YamlPath:
        """The manifest path of a spec location: its longest mapped prefix, or the container."""
        for end in range(len(loc), 0, -1):
            found = self.origins.get(loc[:end])
            if found is not None:
                return found
        return self.at


def default_pull_policy(image: str) -> str:
    """Kubernetes' default: Always for ``:latest`` or no tag (without a digest), else IfNotPresent."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    tag = last.partition(":")[2]
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def read_container(
    ctx: PodContext,
    raw: dict[str, Any],
    at: YamlPath,
    pod_volumes: dict[str, volumes.PodVolume],
    pod_security: security.Context,
    *,
    init: bool,
    host_network: bool,
) -> Container | None:
    """Read one container; None when it cannot become a spec (the reasons are reported)."""
    diag = ctx.diag
    reporting.check_keys(raw, at, diag, _HANDLED, _IGNORED)
    name = reporting.string(raw.get("name"), at / "name", diag, required=True)
    image = reporting.string(raw.get("image"), at / "image", diag)
    if image is None and "image" not in raw:
        diag.error(at, f"container {name or '?'!r} is missing the required 'image' field")
    config: dict[str, Any] = {}
    origins: dict[tuple[str | int, ...], YamlPath] = {("image",): at / "image", ("name",): at / "name"}
    for spec_key, key in _ORIGINS.items():
        origins[("config", spec_key)] = at / key
    environment = envs.container_env(ctx, raw, at)
    for index, name_ in enumerate(environment.values):
        origins[("config", "env", index)] = environment.origins.get(name_, at / "env")
    if environment.values:
        config["env"] = environment.as_list()
    if environment.secret:
        config["secret_env"] = environment.secret_names()
    for key, spec_key in (("command", "entrypoint"), ("args", "cmd")):
        if key in raw:
            argv = reporting.strings(raw[key], at / key, diag)
            config[spec_key] = [expansion.expand_with(a, environment.values) for a in argv]
    working_dir = reporting.string(raw.get("workingDir"), at / "workingDir", diag)
    if working_dir:
        config["working_dir"] = working_dir
    for key, spec_key in (("tty", "tty"), ("stdin", "stdin_open")):
        value = reporting.boolean(raw.get(key), at / key, diag)
        if value is not None:
            config[spec_key] = value
    sidecar = False
    if "restartPolicy" in raw:
        policy = reporting.string(raw["restartPolicy"], at / "restartPolicy", diag)
        if not init or policy != "Always":
            diag.error(at / "restartPolicy", "only init containers take a restartPolicy, and only Always")
        sidecar = True
    if image is not None:
        policy = reporting.string(raw.get("imagePullPolicy"), at / "imagePullPolicy", diag)
        policy = policy or default_pull_policy(image)
        if policy not in PULL_POLICIES:
            diag.error(at / "imagePullPolicy", f"expected Always, IfNotPresent or Never, got {policy!r}")
        else:
            config["pull_policy"] = PULL_POLICIES[policy]
    ports, named = _ports(raw.get("ports"), at / "ports", ctx, host_network=host_network, origins=origins)
    if ports:
        config["ports"] = ports
    limits = resources.container_resources(raw.get("resources"), at / "resources", diag)
    if limits:
        config["resources"] = limits
        origins.update(_resource_origins(raw.get("resources"), at / "resources"))
    config.update(probes.container_probes(raw, at, diag, named))
    if init and not sidecar:
        for key in ("livenessProbe", "readinessProbe", "startupProbe"):
            if key in raw:
                diag.error(at / key, "init containers cannot have probes (unless restartPolicy: Always)")
    settings = security.container_settings(
        pod_security,
        security.read_context(raw.get("securityContext"), at / "securityContext", diag, pod=False),
        diag=diag,
        container_name=name or "",
        annotations=ctx.template.annotations,
        annotations_at=ctx.template.at.parent.child("metadata").child("annotations"),
    )
    if settings.security:
        config["security"] = settings.security
    if settings.user:
        config["user"] = settings.user
    if settings.group_add:
        config["group_add"] = settings.group_add
    mounts = volumes.container_mounts(ctx, pod_volumes, raw, at, environment.values)
    for mount_key, mounted in (("volumes", mounts.volumes), ("tmpfs", mounts.tmpfs), ("files", mounts.files)):
        if mounted:
            config[mount_key] = mounted
    origins.update({("config", *loc): path for loc, path in mounts.origins.items()})
    if name is None or image is None:
        return None
    return Container(name, image, config, at, named, mounts.named, sidecar, origins)


_ORIGINS = {
    "entrypoint": "command",
    "cmd": "args",
    "env": "env",
    "secret_env": "env",
    "working_dir": "workingDir",
    "tty": "tty",
    "stdin_open": "stdin",
    "pull_policy": "imagePullPolicy",
    "ports": "ports",
    "resources": "resources",
    "volumes": "volumeMounts",
    "tmpfs": "volumeMounts",
    "files": "volumeMounts",
    "security": "securityContext",
    "user": "securityContext",
    "group_add": "securityContext",
    **{spec_key: key for key, spec_key in probes.PROBES.items()},
}
"""Spec ``config`` keys to the container keys they are read from."""
_PORT_ORIGINS = {
    "container": "containerPort",
    "host": "hostPort",
    "host_ip": "hostIP",
    "protocol": "protocol",
}
_RESOURCE_ORIGINS = {
    "cpu": ("limits", "cpu"),
    "memory": ("limits", "memory"),
    "memory_reservation": ("requests", "memory"),
}


def _resource_origins(raw: object, at: YamlPath) -> dict[tuple[str | int, ...], YamlPath]:
    """Where each spec resource came from; a CPU weight from the request, or the limit it defaults to."""
    out: dict[tuple[str | int, ...], YamlPath] = {}
    for spec_key, (kind, name) in _RESOURCE_ORIGINS.items():
        out[("config", "resources", spec_key)] = at / kind / name
    requests = raw.get("requests") if isinstance(raw, dict) else None
    cpu_from = "requests" if isinstance(requests, dict) and "cpu" in requests else "limits"
    out[("config", "resources", "cpu_shares")] = at / cpu_from / "cpu"
    return out


def _ports(
    raw: object,
    at: YamlPath,
    ctx: PodContext,
    *,
    host_network: bool,
    origins: dict[tuple[str | int, ...], YamlPath],
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    diag = ctx.diag
    out: list[dict[str, Any]] = []
    named: dict[str, int] = {}
    for path, port in reporting.mappings(raw, at, diag):
        reporting.check_keys(port, path, diag, {"containerPort", "hostPort", "hostIP", "protocol", "name"})
        number = reporting.integer(port.get("containerPort"), path / "containerPort", diag, minimum=1)
        if number is None:
            if "containerPort" not in port:
                diag.error(path / "containerPort", "required key is missing")
            continue
        host = reporting.integer(port.get("hostPort"), path / "hostPort", diag, minimum=0)
        protocol = reporting.string(port.get("protocol"), path / "protocol", diag) or "TCP"
        host_ip = reporting.string(port.get("hostIP"), path / "hostIP", diag)
        name = reporting.string(port.get("name"), path / "name", diag)
        if protocol not in ("TCP", "UDP", "SCTP"):
            diag.error(path / "protocol", f"expected TCP, UDP or SCTP, got {protocol!r}")
            continue
        if name:
            named[name] = number
        mapping: dict[str, Any] = {"container": number, "protocol": protocol.lower()}
        if host_network:
            if host and host != number:
                diag.error(path / "hostPort", "with hostNetwork, hostPort must equal containerPort")
        elif host:
            mapping["host"] = host
            if host_ip:
                mapping["host_ip"] = host_ip
            if ctx.template.replicas > 1:
                diag.warn(
                    path / "hostPort",
                    f"{ctx.template.replicas} copies run on one host: only one can bind host port {host}",
                )
        elif host_ip:
            diag.warn(path / "hostIP", "ignored: the port has no hostPort, so nothing is published")
        origins[("config", "ports", len(out))] = path
        for spec_key, key in _PORT_ORIGINS.items():
            origins[("config", "ports", len(out), spec_key)] = path / key
        out.append(mapping)
    return out, named
