"""Phase 11: bind the normalised compose model to Berth's spec models.

Each service becomes one :class:`DeploymentSpec` named ``<project>-<service>`` (one per replica,
``<project>-<service>-<n>``, when asked), built as a plain dict and bound through
:func:`translators.validation.bind` so a spec-level problem is reported at the compose path. Keys
the spec has no place for are reported as warnings from the table in :mod:`keys`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from translators.compose import graph, keys, service_config
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
_SPEC_TO_COMPOSE = {
    "cmd": "command",
    "env": "environment",
    "restart": "restart",
    "healthcheck": "healthcheck",
}


Shape = tuple[str | int, ...]
_SUBKEY_SHAPES: dict[Shape, frozenset[str]] = {
    tuple(p.split(".")): k for p, k in keys.APPLIED_SUBKEYS.items()
}
_VALUE_SHAPES: dict[Shape, frozenset[str]] = {tuple(p.split(".")): v for p, v in keys.APPLIED_VALUES.items()}


_SHAPE_PREFIXES = {shape[:n] for shape in (*_SUBKEY_SHAPES, *_VALUE_SHAPES) for n in range(1, len(shape))}


def _warn_nested(value: Any, parts: Shape, shape: Shape, report: Report) -> None:
    """Warn about keys (and values) inside mappings that Berth applies only in part.

    ``shape`` is ``parts`` with names and indexes as ``*``; only shapes that lead to a registered
    one are walked, so environment maps and the like cost nothing.
    """
    allowed = _SUBKEY_SHAPES.get(shape)
    values = _VALUE_SHAPES.get(shape)
    if values is not None and isinstance(value, str) and value not in values:
        report.unsupported(YamlPath(parts), f"{value!r}; Berth implements {', '.join(sorted(values))}")
    if isinstance(value, dict):
        wildcard = len(shape) == 1 or (len(shape) == 3 and shape[2] == "networks")
        for key, item in value.items():
            if key.startswith("x-"):
                continue
            if allowed is not None and key not in allowed:
                report.unsupported(YamlPath((*parts, key)))
                continue
            child = (*shape, "*" if wildcard else key)
            if child in _SHAPE_PREFIXES or child in _SUBKEY_SHAPES or child in _VALUE_SHAPES:
                _warn_nested(item, (*parts, key), child, report)
    elif isinstance(value, list):
        child = (*shape, "*")
        if child in _SHAPE_PREFIXES or child in _SUBKEY_SHAPES:
            for i, item in enumerate(value):
                _warn_nested(item, (*parts, i), child, report)


def _warn_unsupported(service: dict[str, Any], at: YamlPath, project: str, report: Report) -> None:
    for key in service:
        status = keys.SERVICE_KEYS.get(key)
        if status is not None and status[0] == "unsupported":
            report.unsupported(at / key, status[1])
    for key, value in (service.get("deploy") or {}).items():
        if keys.DEPLOY_KEYS.get(key) == "unsupported" and value not in ({}, None):
            report.unsupported(at / "deploy" / key)
    if "build" in service:
        report.warn(
            at / "build",
            "Berth does not build images"
            + (
                ""
                if service.get("image")
                else f": using the image name docker compose gives the build, {project}-{at.parts[1]}"
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
    configs: dict[str, tuple[dict[str, Any], YamlPath, service_config.Origins]] = {}
    for name, service in services.items():
        at = YamlPath(("services", name))
        _warn_unsupported(service, at, project, report)
        origins: service_config.Origins = {}
        cfg = service_config.build_config(service, model, env, at, report, origins=origins)
        count = int(cfg.get("replicas", 1)) if per_replica else 1
        names[name] = (
            [f"{project}-{name}-{n}" for n in range(1, count + 1)] if per_replica else [f"{project}-{name}"]
        )
        if per_replica:
            cfg["replicas"] = 1
        configs[name] = (cfg, at, origins)
    for section in ("services", "networks", "volumes"):
        _warn_nested(model.get(section) or {}, (section,), (section,), report)
    for key in model:
        if keys.TOP_LEVEL_KEYS.get(key) == "unsupported":
            report.unsupported(YamlPath((key,)))
    deps: dict[str, list[str]] = {}
    for name, (cfg, at, origins) in configs.items():
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
        mode = service.get("network_mode")
        if isinstance(mode, str) and mode.startswith("service:") and names.get(mode[8:]):
            cfg["network"]["mode"] = f"container:{names[mode[8:]][0]}"  # its first replica's namespace
        image = service.get("image") or f"{project}-{name}"
        for spec_name in names[name]:
            deps[spec_name] = [d["name"] for d in cfg["depends_on"]]
            diag = Diagnostics()
            spec = bind(
                DeploymentSpec,
                {"name": spec_name, "image": image, "config": cfg},
                diag,
                path_map=functools.partial(_compose_path, at, origins),
            )
            for err in diag.errors:
                report.error(YamlPath(tuple(_split(err.path))), err.message)
            if spec is not None:
                specs.append(spec)
    diag = Diagnostics()
    networks = {
        k: bind(NetworkDef, _network_def(v), diag, at=YamlPath(("networks", k)))
        for k, v in (model.get("networks") or {}).items()
    }
    volumes = {
        k: bind(VolumeDef, _volume_def(v), diag, at=YamlPath(("volumes", k)))
        for k, v in (model.get("volumes") or {}).items()
    }
    proj = None
    if not diag.errors:
        proj = bind(
            Project,
            {"name": project, "networks": networks, "volumes": volumes, "order": graph.order(deps)},
            diag,
            at=YamlPath(()),
        )
    for err in diag.errors:  # a project name too long for the store, say
        report.error(YamlPath(tuple(_split(err.path))), err.message)
    if report.failed or proj is None:
        return None
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


def _compose_path(at: YamlPath, origins: service_config.Origins, loc: tuple[str | int, ...]) -> YamlPath:
    """The compose path of a spec location: its recorded origin, else the spec key renamed."""
    if loc[:1] == ("config",):
        for n in range(len(loc), 1, -1):
            origin = origins.get(loc[1:n])
            if origin is not None:
                return YamlPath((*at.parts, *origin))
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
