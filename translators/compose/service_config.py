"""Per-service configuration: a normalised compose service as a ``ContainerConfig`` dict.

One small function per concern (mounts, files, security, resources, restart, healthcheck, network),
each reading the long forms the canonical phase produced; :func:`build_config` puts them together.
Values the spec cannot hold are reported as unsupported with their compose path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from translators.compose.reporting import Report
from translators.paths import YamlPath

Origins = dict[tuple[str | int, ...], tuple[str | int, ...]]
"""Spec location under ``config`` -> the compose key (under the service) its value came from."""
_WINDOWS = re.compile(r"^[A-Za-z]:[\\/]|[A-Za-z]:\\")
# docker compose's mapRestartPolicyCondition (v2.40.3); any other condition fails at container create
_RESTART = {
    "none": "no",
    "no": "no",
    "on-failure": "on-failure",
    "unless-stopped": "unless-stopped",
    "any": "always",
    "always": "always",
}
_PULL = {"always": "always", "missing": "missing", "if_not_present": "missing", "never": "never"}
# pull policies the spec has no equivalent for; "build" pulls nothing when the image is built
_PULL_APPROXIMATED = {"build": "missing"}


def _volume_mount(vol: dict[str, Any], volumes: dict[str, Any]) -> dict[str, Any] | None:
    kind = vol.get("type")
    out: dict[str, Any] = {"target": vol.get("target"), "readonly": bool(vol.get("read_only", False))}
    if kind == "bind":
        bind_opts = vol.get("bind") or {}
        out.update(type="bind", source=vol.get("source"))
        opts = {k: bind_opts[k] for k in ("propagation", "selinux") if k in bind_opts}
        # long syntax does not create a missing host path unless asked; the short syntax sets it true
        opts["create_host_path"] = bool(bind_opts.get("create_host_path", False))
        out["bind"] = opts
        return out
    if kind == "volume":
        source = vol.get("source")
        if source:
            decl = volumes.get(source) or {}
            source = decl.get("name", source) if isinstance(decl, dict) else source
        out.update(type="volume", source=source)
        opts = vol.get("volume") or {}
        picked = {k: opts[k] for k in ("nocopy", "subpath") if k in opts}
        if picked:
            out["volume"] = picked
        return out
    return None


def _files(
    service: dict[str, Any], model: dict[str, Any], env: Mapping[str, str], at: YamlPath, report: Report
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for section, secret in (("secrets", True), ("configs", False)):
        declared = model.get(section) or {}
        for i, ref in enumerate(service.get(section) or []):
            if not isinstance(ref, dict):
                continue
            source = ref.get("source")
            decl = declared.get(source) or {}
            target = ref.get("target") or source
            if not str(target).startswith("/"):
                target = f"/run/secrets/{target}" if secret else f"/{target}"
            item: dict[str, Any] = {"target": target, "secret": secret}
            if "file" in decl:
                item["source"] = decl["file"]
            elif "content" in decl:
                item["content"] = decl["content"]
            elif "environment" in decl:
                item["content"] = env.get(decl["environment"], "")
            else:
                report.unsupported(at / section / i, "only file, content and environment sources are mounted")
                continue
            for key in ("uid", "gid"):
                if ref.get(key) is not None:
                    item[key] = int(ref[key])
            if ref.get("mode") is not None:
                item["mode"] = int(ref["mode"], 8) if isinstance(ref["mode"], str) else ref["mode"]
            out.append(item)
    return out


def _security(service: dict[str, Any], at: YamlPath, report: Report) -> dict[str, Any]:
    sec: dict[str, Any] = {
        "readonly": bool(service.get("read_only", False)),
        "privileged": bool(service.get("privileged", False)),
        "capabilities": {
            "add": list(service.get("cap_add") or []),
            "drop": list(service.get("cap_drop") or []),
        },
    }
    if service.get("sysctls"):
        sec["sysctls"] = service["sysctls"]
    for i, opt in enumerate(service.get("security_opt") or []):
        text = str(opt)
        cut = min((i for i in (text.find(":"), text.find("=")) if i >= 0), default=len(text))
        key, value = text[:cut], text[cut + 1 :]
        if key == "no-new-privileges":
            sec["no_new_privileges"] = value in ("", "true")
        elif key == "seccomp":
            sec["seccomp"] = value
        elif key == "apparmor":
            sec["apparmor"] = value
        elif key == "label":
            if value == "disable":
                report.unsupported(at / "security_opt" / i, "label=disable")
            else:
                sec.setdefault("selinux_options", []).append(value)
        else:
            report.unsupported(at / "security_opt" / i)
    return sec


def _resources(service: dict[str, Any], origins: Origins) -> dict[str, Any]:
    """deploy.resources wins over the service-level keys, as in docker compose; ``-1`` memory is no limit."""
    res: dict[str, Any] = {}
    deploy = (service.get("deploy") or {}).get("resources") or {}
    limits, reservations = deploy.get("limits") or {}, deploy.get("reservations") or {}
    for spec_key, part, kind, key, service_key in (
        ("memory", limits, "limits", "memory", "mem_limit"),
        ("memory_reservation", reservations, "reservations", "memory", "mem_reservation"),
        ("cpu", limits, "limits", "cpus", "cpus"),
        ("pids", limits, "limits", "pids", "pids_limit"),
    ):
        origin: tuple[str | int, ...]
        if key in part:
            value, origin = part[key], ("deploy", "resources", kind, key)
        else:
            value, origin = service.get(service_key), (service_key,)
        if value is None or (spec_key == "cpu" and value in (0, "0")):
            continue
        if spec_key.startswith("memory") and str(value).strip() == "-1":
            continue  # docker: -1 is unlimited
        res[spec_key] = value
        origins[("resources", spec_key)] = origin
    for key, spec_key in (
        ("memswap_limit", "memory_swap"),
        ("shm_size", "shm_size"),
        ("cpu_shares", "cpu_shares"),
        ("cpuset", "cpuset"),
    ):
        if service.get(key) is not None:
            res[spec_key] = service[key]
            origins[("resources", spec_key)] = (key,)
    devices = [
        d
        if isinstance(d, str)
        else {
            "host": d.get("source"),
            # a CDI name (vendor.com/class=name) has no container path of its own
            "container": d.get("target") if str(d.get("source", "")).startswith("/") else None,
            "permissions": d.get("permissions", "rwm"),
        }
        for d in service.get("devices") or []
    ]
    if devices:
        res["devices"] = devices
    if service.get("ulimits"):
        res["ulimits"] = service["ulimits"]
    return res


def _restart(service: dict[str, Any], at: YamlPath, report: Report) -> Any:
    policy = (service.get("deploy") or {}).get("restart_policy")
    if isinstance(policy, dict):
        where = at / "deploy" / "restart_policy"
        condition = policy.get("condition")
        if condition is None:
            # docker compose passes an empty policy to the engine, which does not restart
            report.warn(
                where,
                "no condition: docker compose does not restart the container (the spec's 'any' is not"
                " applied)",
                code="notice",
            )
            condition = "no"
        if condition not in _RESTART:
            report.error(
                where / "condition",
                f"invalid restart condition {condition!r}: expected none, no, on-failure, unless-stopped,"
                " any or always",
            )
            return "no"
        out: dict[str, Any] = {"policy": _RESTART[condition]}
        if policy.get("max_attempts") is not None and out["policy"] == "on-failure":
            out["max_retries"] = policy["max_attempts"]
        if policy.get("delay") is not None:
            out["delay"] = policy["delay"]
        return out
    restart = service.get("restart")
    return restart if restart is not None else "no"


def _healthcheck(hc: dict[str, Any]) -> dict[str, Any]:
    """Without a test (or with ``test: []``) docker keeps the image's test: a probe with no action."""
    out: dict[str, Any] = {
        k: hc[k] for k in ("interval", "timeout", "start_period", "start_interval", "retries") if k in hc
    }
    if hc.get("disable"):
        out["disable"] = True
    elif hc.get("test"):
        out["test"] = hc["test"]
    return out


def _tmpfs(service: dict[str, Any], at: YamlPath, report: Report, origins: Origins) -> list[Any]:
    """Short ``tmpfs`` strings (parsed by the spec) and ``type: tmpfs`` volumes as TmpfsMount dicts."""
    out: list[Any] = [*(service.get("tmpfs") or [])]
    for i in range(len(out)):
        origins[("tmpfs", i)] = ("tmpfs", i)
    for i, vol in enumerate(service.get("volumes") or []):
        if not (isinstance(vol, dict) and vol.get("type") == "tmpfs"):
            continue
        origins[("tmpfs", len(out))] = ("volumes", i)
        opts = vol.get("tmpfs") or {}
        mount: dict[str, Any] = {"target": vol.get("target"), "readonly": bool(vol.get("read_only", False))}
        for key in ("size", "mode"):
            if opts.get(key) is not None:
                mount[key] = opts[key]
        out.append(mount)
    return out


def _env(service: dict[str, Any], at: YamlPath, report: Report) -> list[str]:
    """Compose values are literal after interpolation: every ``$`` is escaped for the spec's ``$$``.

    A key whose value is null was unset at translation time: docker leaves it out of the container,
    so it is omitted rather than written bare (which would pass the agent's own value).
    """
    out = []
    for key, value in (service.get("environment") or {}).items():
        if value is None:
            report.warn(
                at / "environment" / key,
                f"{key} is not set: it is left out of the container's environment, as docker does",
                code="notice",
            )
            continue
        text = value if isinstance(value, str) else str(value)
        out.append(f"{key}={text.replace('$', '$$')}")
    return out


def _network(service: dict[str, Any], project: str, networks: dict[str, Any]) -> dict[str, Any]:
    net: dict[str, Any] = {}
    mode = service.get("network_mode")
    if isinstance(mode, str):
        if mode.startswith("service:"):
            net["mode"] = f"container:{project}-{mode[8:]}"
        elif mode in ("host", "none", "bridge") or mode.startswith("container:"):
            net["mode"] = mode
    dns = {
        "servers": service.get("dns") or [],
        "search": service.get("dns_search") or [],
        "options": service.get("dns_opt") or [],
    }
    net["dns"] = dns
    for key in ("hostname", "domainname"):
        if service.get(key):
            net[key] = service[key]
    hosts = service.get("extra_hosts")
    if isinstance(hosts, dict):
        net["extra_hosts"] = [
            f"{h}:{ip}" for h, ips in hosts.items() for ip in (ips if isinstance(ips, list) else [ips])
        ]
    elif isinstance(hosts, list):
        net["extra_hosts"] = hosts
    attached = []
    for name, opts in (service.get("networks") or {}).items():
        item: dict[str, Any] = {"name": (networks.get(name) or {}).get("name", name)}
        for key in ("aliases", "ipv4_address", "ipv6_address"):
            if isinstance(opts, dict) and opts.get(key):
                item[key] = opts[key]
        attached.append(item)
    if attached and "mode" not in net:
        net["networks"] = attached
    return net


def _ports(ports: list[Any], at: YamlPath, report: Report, origins: Origins) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, port in enumerate(ports):
        if not isinstance(port, dict):
            continue
        origins[("ports", len(out))] = ("ports", i)
        published = str(port.get("published", ""))
        host: Any = 0  # no published port: docker compose publishes on an ephemeral host port
        if published.isdigit():
            host = int(published)
        elif "-" in published and published.split("-", 1)[0].isdigit():
            host = int(published.split("-", 1)[0])
            report.warn(at / "ports" / i, f"a range of host ports ({published}): Berth publishes on {host}")
        elif published:
            host = published  # not a number: the spec reports it
        out.append(
            {"container": port.get("target"), "host": host, "host_ip": port.get("host_ip"),
             "protocol": port.get("protocol", "tcp")}
        )  # fmt: skip
    return out


def build_config(
    service: dict[str, Any],
    model: dict[str, Any],
    env: Mapping[str, str],
    at: YamlPath,
    report: Report,
    *,
    origins: Origins | None = None,
) -> dict[str, Any]:
    """The ``ContainerConfig`` dict; ``origins`` is filled with where its values came from."""
    origins = {} if origins is None else origins
    project = model["name"]
    cfg: dict[str, Any] = {}
    for src, dst in (
        ("entrypoint", "entrypoint"),
        ("command", "cmd"),
        ("working_dir", "working_dir"),
        ("user", "user"),
        ("stop_signal", "stop_signal"),
        ("stop_grace_period", "stop_grace_period"),
        ("tty", "tty"),
        ("stdin_open", "stdin_open"),
        ("init", "init"),
    ):
        if service.get(src) is not None:
            cfg[dst] = service[src]
    cfg["env"] = _env(service, at, report)
    if service.get("group_add"):
        cfg["group_add"] = [str(g) for g in service["group_add"]]
    volumes: list[dict[str, Any]] = []
    tmpfs = _tmpfs(service, at, report, origins)
    for i, vol in enumerate(service.get("volumes") or []):
        if isinstance(vol, dict) and vol.get("type") == "tmpfs":
            continue
        mount = _volume_mount(vol, model.get("volumes") or {}) if isinstance(vol, dict) else None
        if mount is not None and _WINDOWS.match(f"{mount.get('source') or ''}{mount.get('target')}"):
            report.unsupported(at / "volumes" / i, "Windows paths")
        elif mount is None:
            report.unsupported(
                at / "volumes" / i, f"volume type {vol.get('type') if isinstance(vol, dict) else vol!r}"
            )
        else:
            origins[("volumes", len(volumes))] = ("volumes", i)
            volumes.append(mount)
    cfg.update(volumes=volumes, tmpfs=tmpfs, files=_files(service, model, env, at, report))
    cfg["ports"] = _ports(service.get("ports") or [], at, report, origins)
    cfg["network"] = _network(service, project, model.get("networks") or {})
    mode = service.get("network_mode")
    if cfg["network"].get("mode", "bridge") != "bridge" and cfg["ports"]:
        report.warn(
            at / "ports",
            f"published ports are discarded with network_mode {mode!r}, as docker does",
            code="not-applied",
        )
        cfg["ports"] = []
    if isinstance(mode, str) and "mode" not in cfg["network"] and mode != "default":
        report.unsupported(at / "network_mode", f"network mode {mode!r}; the default network is used")
    cfg["resources"] = _resources(service, origins)
    cfg["security"] = _security(service, at, report)
    cfg["restart"] = _restart(service, at, report)
    if isinstance(service.get("healthcheck"), dict):
        cfg["healthcheck"] = _healthcheck(service["healthcheck"])
    if service.get("labels"):
        cfg["labels"] = service["labels"]
    deploy = service.get("deploy") or {}
    replicas = deploy.get("replicas", service.get("scale"))
    if replicas is not None:
        cfg["replicas"] = replicas
    _pull_policy(service, cfg, at, report)
    if service.get("container_name"):
        report.warn(
            at / "container_name",
            f"not applied: Berth names the container {project}-{at.parts[-1]}",
            code="not-applied",
        )
    return cfg


def _pull_policy(service: dict[str, Any], cfg: dict[str, Any], at: YamlPath, report: Report) -> None:
    policy = service.get("pull_policy")
    if policy is None:
        return
    if policy in _PULL:
        cfg["pull_policy"] = _PULL[policy]
        return
    cfg["pull_policy"] = _PULL_APPROXIMATED.get(policy, "missing")
    report.warn(
        at / "pull_policy",
        f"pull policy {policy!r} is not supported by Berth: the image is pulled when missing",
    )
