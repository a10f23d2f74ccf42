"""Phase 6: rewrite short forms into the long forms of the Compose Specification.

One table, :data:`TRANSFORMS`, maps a path pattern to the function that canonicalises the value
there (compose-go's ``transform/canonical.go``), so supporting another short form is one line and
one function. Inputs were schema-checked, but the functions stay defensive: a value of an
unexpected type is left alone for the binding phase to report.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from typing import Any

from translators.compose.reporting import Report
from translators.paths import ROOT, YamlPath
from translators.spec.units import parse_duration
from translators.yamlio import Override, Reset

Transform = Callable[[Any, YamlPath, Report], Any]

_PORT = re.compile(
    r"^(?:(?:(?P<ip>\[[0-9A-Fa-f:.]+\]|[0-9.]+|[0-9A-Fa-f:]*:[0-9A-Fa-f:]*):)?(?P<host>[0-9]*(?:-[0-9]+)?):)?"
    r"(?P<ctr>[0-9]+(?:-[0-9]+)?)(?:/(?P<proto>[A-Za-z]+))?$"
)


def _span(text: str) -> tuple[int, int]:
    first, _, last = text.partition("-")
    return int(first), int(last) if last else int(first)


def parse_port(text: str) -> list[dict[str, Any]]:
    """A short port (``"127.0.0.1:8000-8001:80-81/udp"``) as long forms; ``ValueError`` if malformed."""
    m = _PORT.match(text.strip())
    if not m:
        raise ValueError(f"invalid port {text!r}: expected [[IP:]HOST:]CONTAINER[/PROTOCOL]")
    c0, c1 = _span(m.group("ctr"))
    if c1 < c0:
        raise ValueError(f"invalid port range {m.group('ctr')!r}")
    host = m.group("host") or ""
    ip = (m.group("ip") or "").strip("[]")
    out: list[dict[str, Any]] = []
    h0, h1 = _span(host) if host else (0, 0)
    for i, target in enumerate(range(c0, c1 + 1)):
        port: dict[str, Any] = {"mode": "ingress"}
        if ip:
            port["host_ip"] = ip
        port["target"] = target
        if host:
            if h1 == h0:
                port["published"] = str(h0)
            elif h1 - h0 == c1 - c0:
                port["published"] = str(h0 + i)
            else:
                port["published"] = f"{h0}-{h1}"
        port["protocol"] = (m.group("proto") or "tcp").lower()
        out.append(port)
    return out


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
                out.extend(parse_port(item))
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


def _is_bind_source(source: str) -> bool:
    return source.startswith((".", "/", "~")) or bool(re.match(r"^[A-Za-z]:[\\/]", source))


_DRIVE = re.compile(r"[A-Za-z]:[\\/]")


def _split_volume(text: str) -> list[str]:
    """Split on ``:``, except the one of a Windows drive (``C:\\data``) that starts a part."""
    parts: list[str] = []
    start = 0
    while True:
        skip = 2 if _DRIVE.match(text, start) else 0
        cut = text.find(":", start + skip)
        if cut < 0:
            parts.append(text[start:])
            return parts
        parts.append(text[start:cut])
        start = cut + 1


def parse_volume(text: str) -> dict[str, Any]:
    """A short volume (``"./data:/data:ro,z"``, ``"cache:/c"``, ``"/anon"``) as its long form."""
    parts = _split_volume(text)
    if not text or len(parts) > 3 or any(p == "" for p in parts[:2]):
        raise ValueError(f"invalid volume {text!r}: expected [SOURCE:]TARGET[:MODE]")
    if len(parts) == 1:
        return {"type": "volume", "target": parts[0], "volume": {}}
    source, target = parts[0], parts[1]
    bind = _is_bind_source(source)
    vol: dict[str, Any] = {"type": "bind" if bind else "volume", "source": source, "target": target}
    bind_opts: dict[str, Any] = {}
    volume_opts: dict[str, Any] = {}
    for opt in parts[2].split(",") if len(parts) == 3 else []:
        if opt == "ro":
            vol["read_only"] = True
        elif opt == "rw":
            continue
        elif opt in ("z", "Z"):
            bind_opts["selinux"] = opt
        elif opt in ("shared", "rshared", "slave", "rslave", "private", "rprivate"):
            bind_opts["propagation"] = opt
        elif opt == "nocopy":
            volume_opts["nocopy"] = True
        elif opt in ("delegated", "cached", "consistent"):
            vol["consistency"] = opt
        else:
            raise ValueError(f"invalid volume {text!r}: unknown option {opt!r}")
    if bind:
        bind_opts["create_host_path"] = True
    if bind_opts:
        vol["bind"] = bind_opts
    if not bind:
        vol["volume"] = volume_opts
    return vol


def _volumes(value: Any, path: YamlPath, report: Report) -> Any:
    if not isinstance(value, list):
        return value
    out: list[Any] = []
    for i, item in enumerate(value):
        if isinstance(item, str):
            try:
                out.append(parse_volume(item))
            except ValueError as exc:
                report.error(path / i, str(exc))
        else:
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


def go_duration(seconds: float) -> str:
    """Go's ``time.Duration.String()``: ``1h0m0s``, ``1m30s``, ``1.5s``, ``100ms``, ``0s``."""
    nanos = round(seconds * 1e9)
    if nanos == 0:
        return "0s"
    if nanos < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if nanos >= size:
                return f"{nanos / size:.9f}".rstrip("0").rstrip(".") + unit
    hours, rest = divmod(nanos, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    secs = f"{rest / 1e9:.9f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{secs}"
    return f"{minutes}m{secs}" if minutes else secs


def _duration(value: Any, path: YamlPath, report: Report) -> Any:
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            return go_duration(parse_duration(value))
        except ValueError as exc:
            report.error(path, str(exc))
    return value


def _healthcheck_test(value: Any, path: YamlPath, report: Report) -> Any:
    return ["CMD-SHELL", value] if isinstance(value, str) else value


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
