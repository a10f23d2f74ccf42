"""Phase 11: bind the normalised compose model to Berth's spec models.

Each service becomes one :class:`DeploymentSpec` named ``<project>-<service>`` (one per replica,
``<project>-<service>-<n>``, when asked), built as a plain dict and bound through
:func:`translators.validation.bind` so a spec-level problem is reported at the compose path. Keys
the spec has no place for are reported as warnings from the table in :mod:`keys`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from translators.compose import graph, keys
from translators.compose.reporting import Report
from translators.errors import Diagnostics
from translators.paths import YamlPath
from translators.result import Translation
from translators.spec import DeploymentSpec
from translators.spec.project import NetworkDef, Project, VolumeDef
from translators.validation import bind

_CONDITIONS = {
    "service_started": "started",
    "service_healthy": "healthy",
    "service_completed_successfully": "completed_successfully",
}
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
_SPEC_TO_COMPOSE = {
    "cmd": "command",
    "env": "environment",
    "restart": "restart",
    "healthcheck": "healthcheck",
}


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
            "container": d.get("target"),
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


def _config(
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
    cfg["ports"] = [
        {
            "container": p.get("target"),
            "host": int(p["published"]) if str(p.get("published", "")).isdigit() else None,
            "host_ip": p.get("host_ip"),
            "protocol": p.get("protocol", "tcp"),
        }
        for p in service.get("ports") or []
        if isinstance(p, dict)
    ]
    cfg["network"] = _network(service, project, model.get("networks") or {})
    mode = service.get("network_mode")
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


def _warn_unsupported(service: dict[str, Any], at: YamlPath, report: Report) -> None:
    for key in service:
        status = keys.SERVICE_KEYS.get(key)
        if status is not None and status[0] == "unsupported":
            report.unsupported(at / key, status[1])
    for key in service.get("deploy") or {}:
        if keys.DEPLOY_KEYS.get(key) == "unsupported":
            report.unsupported(at / "deploy" / key)
    if "build" in service:
        report.warn(
            at / "build",
            "Berth does not build images"
            + (
                ""
                if service.get("image")
                else f": using the image name docker compose gives the build, {at.parts[1]}"
            ),
            code="not-applied",
        )


def translate(
    model: dict[str, Any], env: Mapping[str, str], report: Report, *, per_replica: bool
) -> Translation | None:
    """Bind every service; None when a spec does not bind (the errors are in ``report``)."""
    project = model["name"]
    services: dict[str, Any] = model.get("services") or {}
    specs: list[DeploymentSpec] = []
    names: dict[str, list[str]] = {}
    configs: dict[str, tuple[dict[str, Any], YamlPath]] = {}
    for name, service in services.items():
        at = YamlPath(("services", name))
        _warn_unsupported(service, at, report)
        cfg = _config(service, model, env, at, report)
        count = int(cfg.get("replicas", 1)) if per_replica else 1
        names[name] = (
            [f"{project}-{name}-{n}" for n in range(1, count + 1)] if per_replica else [f"{project}-{name}"]
        )
        if per_replica:
            cfg["replicas"] = 1
        configs[name] = (cfg, at)
    deps: dict[str, list[str]] = {}
    for name, (cfg, at) in configs.items():
        service = services[name]
        cfg["depends_on"] = [
            {
                "name": target,
                "condition": _CONDITIONS.get(d.get("condition", ""), "started"),
                "required": d.get("required", True),
                "restart": bool(d.get("restart", False)),
            }
            for dep, d in (service.get("depends_on") or {}).items()
            if dep in names
            for target in names[dep]
        ]
        image = service.get("image") or f"{project}-{name}"
        for spec_name in names[name]:
            deps[spec_name] = [d["name"] for d in cfg["depends_on"]]
            diag = Diagnostics()
            spec = bind(
                DeploymentSpec,
                {"name": spec_name, "image": image, "config": cfg},
                diag,
                path_map=functools.partial(_compose_path, at),
            )
            for err in diag.errors:
                report.error(YamlPath(tuple(_split(err.path))), err.message)
            if spec is not None:
                specs.append(spec)
    networks = {
        k: NetworkDef.model_validate(_network_def(v)) for k, v in (model.get("networks") or {}).items()
    }
    volumes = {k: VolumeDef.model_validate(_volume_def(v)) for k, v in (model.get("volumes") or {}).items()}
    if report.failed:
        return None
    proj = Project(name=project, networks=networks, volumes=volumes, order=graph.order(deps))
    return Translation("compose", specs, proj, list(report.diag.warnings))


def _split(path: str) -> list[str | int]:
    out: list[str | int] = []
    for part in path.replace("[", ".[").split("."):
        if part.startswith("[") and part.endswith("]"):
            inner = part[1:-1].strip('"')
            out.append(int(inner) if inner.isdigit() else inner)
        elif part:
            out.append(part)
    return out


def _compose_path(at: YamlPath, loc: tuple[str | int, ...]) -> YamlPath:
    if len(loc) >= 2 and loc[0] == "config":
        head = _SPEC_TO_COMPOSE.get(str(loc[1]), loc[1])
        return YamlPath((*at.parts, head, *loc[2:]))
    return YamlPath((*at.parts, *loc))


def _network_def(net: Any) -> dict[str, Any]:
    net = net if isinstance(net, dict) else {}
    ipam = net.get("ipam") or {}
    subnets = [c["subnet"] for c in ipam.get("config") or [] if isinstance(c, dict) and c.get("subnet")]
    return {
        "name": net.get("name"),
        "driver": net.get("driver", "bridge"),
        "external": bool(net.get("external")),
        "internal": bool(net.get("internal")),
        "subnets": subnets,
        "labels": net.get("labels") or {},
        "driver_opts": {k: str(v) for k, v in (net.get("driver_opts") or {}).items()},
    }


def _volume_def(vol: Any) -> dict[str, Any]:
    vol = vol if isinstance(vol, dict) else {}
    return {
        "name": vol.get("name"),
        "driver": vol.get("driver", "local"),
        "external": bool(vol.get("external")),
        "labels": vol.get("labels") or {},
        "driver_opts": {k: str(v) for k, v in (vol.get("driver_opts") or {}).items()},
    }
