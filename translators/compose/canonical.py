"""Phase 6: rewrite short forms into the long forms of the Compose Specification.

One table, :data:`TRANSFORMS`, maps a path pattern to the function that canonicalises the value
there (compose-go's ``transform/canonical.go``), so supporting another short form is one line and
one function. Inputs were schema-checked, but the functions stay defensive: a value of an
unexpected type is left alone for the binding phase to report.
"""

from __future__ import annotations

import posixpath
import shlex
from collections.abc import Callable
from typing import Any

from translators.compose import short_forms
from translators.compose.reporting import Report
from translators.paths import ROOT, YamlPath
from translators.spec.units import parse_duration
from translators.yamlio import Override, Reset

Transform = Callable[[Any, YamlPath, Report], Any]


def _ports(value: Any, path: YamlPath, report: Report) -> Any:
    if not isinstance(value, list):
        return value
    out: list[Any] = []
    for i, given in enumerate(value):
        item = str(given) if isinstance(given, int) and not isinstance(given, bool) else given
        if isinstance(item, float):
            report.error(path / i, f"invalid port {item!r}: expected an integer or a string")
            continue
        if isinstance(item, str):
            try:
                out.extend(short_forms.parse_port(item))
            except ValueError as exc:
                report.error(path / i, str(exc))
        elif isinstance(item, dict):
            port = {"mode": "ingress", **item}
            if "published" in port and port["published"] is not None:
                port["published"] = str(port["published"])
            if isinstance(port.get("target"), str) and port["target"].isdigit():
                port["target"] = int(port["target"])
            port.setdefault("protocol", "tcp")
            out.append(port)
        else:
            out.append(item)
    return out


def clean_path(path: str) -> str:
    """Go's ``path.Clean``: compose prints every mount target this way (``/etc/pihole/`` -> ``/etc/pihole``)."""
    cleaned = posixpath.normpath(path)
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


def _volumes(value: Any, path: YamlPath, report: Report) -> Any:
    if not isinstance(value, list):
        return value
    out: list[Any] = []
    for i, given in enumerate(value):
        item = given
        if isinstance(given, str):
            try:
                item = short_forms.parse_volume(given)
            except ValueError as exc:
                report.error(path / i, str(exc))
                continue
        if isinstance(item, dict) and isinstance(item.get("target"), str) and item["target"]:
            item = {**item, "target": clean_path(item["target"])}
        out.append(item)
    return out


def _key_values(value: Any, path: YamlPath, report: Report) -> Any:
    """``["A=1", "B"]`` as ``{"A": "1", "B": None}``; mapping values become strings."""
    if isinstance(value, list):
        out: dict[str, Any] = {}
        for item in value:
            key, eq, val = str(item).partition("=")
            out[key] = val if eq else None
        return out
    if isinstance(value, dict):
        return {str(k): _scalar_text(v) for k, v in value.items()}
    return value


def _scalar_text(value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


def _labels(value: Any, path: YamlPath, report: Report) -> Any:
    kv = _key_values(value, path, report)
    return {k: "" if v is None else v for k, v in kv.items()} if isinstance(kv, dict) else kv


def _string_list(value: Any, path: YamlPath, report: Report) -> Any:
    """A string alone is a one-item list; numbers in the list are printed as strings."""
    if isinstance(value, str):
        return [value]
    return [_scalar_text(v) for v in value] if isinstance(value, list) else value


def _extra_hosts(value: Any, path: YamlPath, report: Report) -> Any:
    """``host:ip``, ``host=ip`` and ``{host: ip}`` as compose prints them: ``host=ip``."""
    if isinstance(value, dict):
        out: list[str] = []
        for host, ips in sorted(value.items()):
            out.extend(f"{host}={ip}" for ip in (ips if isinstance(ips, list) else [ips]))
        return out
    if isinstance(value, list):
        items = []
        for item in value:
            text = str(item)
            if "=" not in text and ":" in text:
                host, _, ip = text.partition(":")
                text = f"{host}={ip}"
            items.append(text)
        return items
    return value


def _devices(value: Any, path: YamlPath, report: Report) -> Any:
    """``"/dev/a[:/dev/b[:rwm]]"`` (or a CDI name) as ``{source, target, permissions}``."""
    if not isinstance(value, list):
        return value
    out: list[Any] = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            out.append(item)
            continue
        parts = item.split(":")
        if len(parts) > 3:
            report.error(path / i, f"confusing device mapping: {item}")
            continue
        source = parts[0]
        target = parts[1] if len(parts) > 1 and parts[1] else source
        out.append(
            {"source": source, "target": target, "permissions": parts[2] if len(parts) == 3 else "rwm"}
        )
    return out


def _command(value: Any, path: YamlPath, report: Report) -> Any:
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            report.error(path, f"cannot split {value!r} like a shell would: {exc}")
            return value
    if isinstance(value, list):
        return [_scalar_text(v) for v in value]
    return value


def _names_map(value: Any, path: YamlPath, report: Report) -> Any:
    """``[a, b]`` as ``{a: None, b: None}`` (service networks)."""
    if isinstance(value, list):
        return {str(v): None for v in value}
    return value


def _depends_on(value: Any, path: YamlPath, report: Report) -> Any:
    if isinstance(value, list):
        value = {str(v): None for v in value}
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for name, given in value.items():
        dep = dict(given) if isinstance(given, dict) else {}
        dep.setdefault("condition", "service_started")
        dep.setdefault("required", True)
        out[name] = dep
    return out


def _env_file(value: Any, path: YamlPath, report: Report) -> Any:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        return value
    out = []
    for item in value:
        if isinstance(item, str):
            out.append({"path": item, "required": True})
        elif isinstance(item, dict):
            out.append({"required": True, **item})
    return out


def _file_refs(value: Any, path: YamlPath, report: Report) -> Any:
    if isinstance(value, list):
        return [{"source": v} if isinstance(v, str) else v for v in value]
    return value


def _build(value: Any, path: YamlPath, report: Report) -> Any:
    return {"context": value} if isinstance(value, str) else value


def _extends(value: Any, path: YamlPath, report: Report) -> Any:
    return {"service": value} if isinstance(value, str) else value


def _duration(value: Any, path: YamlPath, report: Report) -> Any:
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            return short_forms.go_duration(parse_duration(value))
        except ValueError as exc:
            report.error(path, str(exc))
    return value


def _healthcheck_test(value: Any, path: YamlPath, report: Report) -> Any:
    return ["CMD-SHELL", value] if isinstance(value, str) else value


def _gpus(value: Any, path: YamlPath, report: Report) -> Any:
    """``gpus: all`` is every GPU: one device request with count -1, as docker compose prints it."""
    return [{"count": -1}] if value == "all" else value


def _resource(value: Any, path: YamlPath, report: Report) -> Any:
    """Top-level volumes/networks/secrets/configs: null is ``{}``; ``external.name`` is moved."""
    if value is None:
        return {}
    if isinstance(value, dict) and isinstance(value.get("external"), dict):
        ext = value["external"]
        value = {k: v for k, v in value.items() if k != "external"}
        value["external"] = True
        if "name" in ext:
            report.warn(
                path, "external.name is deprecated. Please set name and external: true", code="notice"
            )
            value["name"] = ext["name"]
    return value


TRANSFORMS: dict[str, Transform] = {
    "services.*.ports": _ports,
    "services.*.volumes": _volumes,
    "services.*.environment": _key_values,
    "services.*.labels": _labels,
    "services.*.annotations": _labels,
    "services.*.sysctls": _labels,
    "services.*.build.args": _key_values,
    "services.*.build.labels": _labels,
    "services.*.deploy.labels": _labels,
    "services.*.dns": _string_list,
    "services.*.dns_opt": _string_list,
    "services.*.extra_hosts": _extra_hosts,
    "services.*.devices": _devices,
    "services.*.group_add": _string_list,
    "services.*.expose": _string_list,
    "services.*.cap_add": _string_list,
    "services.*.cap_drop": _string_list,
    "services.*.security_opt": _string_list,
    "services.*.links": _string_list,
    "services.*.external_links": _string_list,
    "services.*.volumes_from": _string_list,
    "services.*.profiles": _string_list,
    "services.*.dns_search": _string_list,
    "services.*.tmpfs": _string_list,
    "services.*.env_file": _env_file,
    "services.*.label_file": _string_list,
    "services.*.command": _command,
    "services.*.entrypoint": _command,
    "services.*.networks": _names_map,
    "services.*.depends_on": _depends_on,
    "services.*.secrets": _file_refs,
    "services.*.configs": _file_refs,
    "services.*.build": _build,
    "services.*.extends": _extends,
    "services.*.healthcheck.test": _healthcheck_test,
    "services.*.gpus": _gpus,
    "services.*.deploy.restart_policy.delay": _duration,
    "services.*.deploy.restart_policy.window": _duration,
    "services.*.deploy.update_config.delay": _duration,
    "services.*.deploy.update_config.monitor": _duration,
    "services.*.deploy.rollback_config.delay": _duration,
    "services.*.deploy.rollback_config.monitor": _duration,
    "services.*.healthcheck.interval": _duration,
    "services.*.healthcheck.timeout": _duration,
    "services.*.healthcheck.start_period": _duration,
    "services.*.healthcheck.start_interval": _duration,
    "services.*.stop_grace_period": _duration,
    "volumes.*": _resource,
    "networks.*": _resource,
    "secrets.*": _resource,
    "configs.*": _resource,
    "networks.*.labels": _labels,
    "volumes.*.labels": _labels,
}
# Every pattern has its one wildcard at position 1 (the service or resource name).
_BY_SHAPE: dict[tuple[str | int, ...], Transform] = {tuple(p.split(".")): f for p, f in TRANSFORMS.items()}
_PREFIXES = {shape[:n] for shape in _BY_SHAPE for n in range(1, len(shape))}


def canonicalise(data: Any, report: Report, path: YamlPath = ROOT) -> Any:
    """``data`` with every registered short form replaced by its long form (a new structure)."""
    if isinstance(data, Override):
        return Override(canonicalise(data.value, report, path))
    if isinstance(data, Reset):
        return data
    parts = path.parts
    shape = (parts[0], "*", *parts[2:]) if len(parts) > 1 else parts
    fn = _BY_SHAPE.get(shape)
    if fn is not None:
        data = fn(data, path, report)
    if parts and shape not in _PREFIXES:
        return data
    if isinstance(data, dict):
        return {k: canonicalise(v, report, path / k) for k, v in data.items()}
    return data
