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

_WINDOWS = re.compile(r"^[A-Za-z]:[\\/]|[A-Za-z]:\\")
_RESTART = {"none": "no", "on-failure": "on-failure", "any": "always"}
_PULL = {
    "always": "always",
    "missing": "missing",
    "if_not_present": "missing",
    "never": "never",
    "build": "missing",
}
# spec location head -> compose key, so bind errors point at what the user wrote


def _volume_mount(vol: dict[str, Any], volumes: dict[str, Any]) -> dict[str, Any] | None:
    kind = vol.get("type")
    out: dict[str, Any] = {"target": vol.get("target"), "readonly": bool(vol.get("read_only", False))}
    if kind == "bind":
        bind_opts = vol.get("bind") or {}
        out.update(type="bind", source=vol.get("source"))
        opts = {k: bind_opts[k] for k in ("propagation", "create_host_path", "selinux") if k in bind_opts}
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


def _resources(service: dict[str, Any]) -> dict[str, Any]:
    res: dict[str, Any] = {}
    deploy = (service.get("deploy") or {}).get("resources") or {}
    limits, reservations = deploy.get("limits") or {}, deploy.get("reservations") or {}
    memory = limits.get("memory", service.get("mem_limit"))
    if memory is not None:
        res["memory"] = memory
    reservation = reservations.get("memory", service.get("mem_reservation"))
    if reservation is not None:
        res["memory_reservation"] = reservation
    cpus = limits.get("cpus", service.get("cpus"))
    if cpus not in (None, 0, "0"):
        res["cpu"] = cpus
    pids = limits.get("pids", service.get("pids_limit"))
    if pids is not None:
        res["pids"] = pids
    for key, spec_key in (
        ("memswap_limit", "memory_swap"),
        ("shm_size", "shm_size"),
        ("cpu_shares", "cpu_shares"),
        ("cpuset", "cpuset"),
    ):
        if service.get(key) is not None:
            res[spec_key] = service[key]
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


def _restart(service: dict[str, Any]) -> Any:
    policy = (service.get("deploy") or {}).get("restart_policy")
    if isinstance(policy, dict):
        out: dict[str, Any] = {"policy": _RESTART.get(policy.get("condition", "any"), "always")}
        if policy.get("max_attempts") is not None and out["policy"] == "on-failure":
            out["max_retries"] = policy["max_attempts"]
        if policy.get("delay") is not None:
            out["delay"] = policy["delay"]
        return out
    restart = service.get("restart")
    return restart if restart is not None else "no"


def _healthcheck(hc: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        k: hc[k] for k in ("interval", "timeout", "start_period", "start_interval", "retries") if k in hc
    }
    if hc.get("disable"):
        out["disable"] = True
    if "test" in hc:
        out["test"] = hc["test"]
    elif not out.get("disable"):
        out["disable"] = True
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


def _ports(ports: list[Any], at: YamlPath, report: Report) -> list[dict[str, Any]]:
    out = []
    for i, port in enumerate(ports):
        if not isinstance(port, dict):
            continue
        published = str(port.get("published", ""))
        host: Any = None
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
    service: dict[str, Any], model: dict[str, Any], env: Mapping[str, str], at: YamlPath, report: Report
) -> dict[str, Any]:
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
    environment = service.get("environment") or {}
    cfg["env"] = [k if v is None else f"{k}={v}" for k, v in environment.items()]
    if service.get("group_add"):
        cfg["group_add"] = [str(g) for g in service["group_add"]]
    volumes, tmpfs = [], [*(service.get("tmpfs") or [])]
    for i, vol in enumerate(service.get("volumes") or []):
        if isinstance(vol, dict) and vol.get("type") == "tmpfs":
            tmpfs.append(
                {
                    "target": vol.get("target"),
                    **({"size": vol["tmpfs"]["size"]} if "size" in (vol.get("tmpfs") or {}) else {}),
                }
            )
            continue
        mount = _volume_mount(vol, model.get("volumes") or {}) if isinstance(vol, dict) else None
        if mount is not None and _WINDOWS.match(f"{mount.get('source') or ''}{mount.get('target')}"):
            report.unsupported(at / "volumes" / i, "Windows paths")
        elif mount is None:
            report.unsupported(
                at / "volumes" / i, f"volume type {vol.get('type') if isinstance(vol, dict) else vol!r}"
            )
        else:
            volumes.append(mount)
    cfg.update(volumes=volumes, tmpfs=tmpfs, files=_files(service, model, env, at, report))
    cfg["ports"] = _ports(service.get("ports") or [], at, report)
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
    cfg["resources"] = _resources(service)
    cfg["security"] = _security(service, at, report)
    cfg["restart"] = _restart(service)
    if isinstance(service.get("healthcheck"), dict):
        cfg["healthcheck"] = _healthcheck(service["healthcheck"])
    if service.get("labels"):
        cfg["labels"] = service["labels"]
    deploy = service.get("deploy") or {}
    replicas = deploy.get("replicas", service.get("scale"))
    if replicas is not None:
        cfg["replicas"] = replicas
    if service.get("pull_policy") in _PULL:
        cfg["pull_policy"] = _PULL[service["pull_policy"]]
    return cfg
