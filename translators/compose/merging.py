"""Phase 7: merge several compose files (and an ``extends`` base with its service), by the spec's rules.

Mappings merge key by key and sequences are appended, except where :data:`SPECIALS` says
otherwise: ``command``, ``entrypoint`` and ``healthcheck.test`` are replaced, and sequences whose
items have an identity (ports, volumes, secrets, expose, ...) keep one item per identity (the later
file wins, at the earlier position): :data:`UNIQUE` holds those identities, as compose-go's
``override`` package does. ``!reset`` removes an inherited value and ``!override`` replaces it.
Inputs are canonical (long forms) so ``"80:80"`` and ``{target: 80, published: "80"}`` collide.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from translators.compose.reporting import Report
from translators.paths import ROOT, YamlPath
from translators.yamlio import Override, Reset


def _replace(_base: Any, override: Any, _path: YamlPath) -> Any:
    return override


def _union(base: Any, override: Any, _path: YamlPath) -> Any:
    if isinstance(base, list) and isinstance(override, list):
        return list(dict.fromkeys([*base, *override]))
    return override


Merge = Callable[[Any, Any, YamlPath], Any]
SPECIALS: dict[str, Merge] = {
    "services.*.command": _replace,
    "services.*.entrypoint": _replace,
    "services.*.healthcheck.test": _replace,
    "services.*.tmpfs": _union,
    "services.*.dns": _union,
    "services.*.dns_search": _union,
    "services.*.dns_opt": _union,
    "services.*.profiles": _union,
    "services.*.cap_add": _union,
    "services.*.cap_drop": _union,
    "services.*.extra_hosts": _union,
}


def _port_key(item: Any) -> str:
    if isinstance(item, dict):
        return "{}:{}:{}/{}".format(
            item.get("host_ip", ""),
            item.get("published", ""),
            item.get("target"),
            item.get("protocol", "tcp"),
        )
    return str(item)


def _target_key(item: Any) -> str:
    return str(item.get("target")) if isinstance(item, dict) else str(item)


def _mount_key(default_dir: str) -> Callable[[Any], str]:
    def key(item: Any) -> str:
        if isinstance(item, dict):
            target = item.get("target")
            if target:
                return str(target) if str(target).startswith("/") else f"{default_dir}/{target}"
            return f"{default_dir}/{item.get('source')}"
        return f"{default_dir}/{item}"

    return key


def _path_key(item: Any) -> str:
    return str(item.get("path")) if isinstance(item, dict) else str(item)


def _device_key(item: Any) -> str:
    if isinstance(item, dict):
        return str(item.get("target") or item.get("source"))
    parts = str(item).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


UNIQUE: dict[str, Callable[[Any], str]] = {
    "services.*.ports": _port_key,
    "services.*.volumes": _target_key,
    "services.*.secrets": _mount_key("/run/secrets"),
    "services.*.configs": _mount_key(""),
    "services.*.expose": str,
    "services.*.env_file": _path_key,
    "services.*.devices": _device_key,
    "services.*.links": str,
    "services.*.networks.*.aliases": str,
}
# Lists the schema wants unique but compose-go has no identity for: duplicates (also those made by
# appending an override) are errors, checked by :func:`check_unique_items`.
WITHOUT_IDENTITY = ("group_add", "external_links", "volumes_from", "security_opt", "device_cgroup_rules")
_SPECIAL_PATTERNS = [(p.split("."), f) for p, f in SPECIALS.items()]
_UNIQUE_PATTERNS = [(p.split("."), f) for p, f in UNIQUE.items()]


def _matching(patterns: list[tuple[list[str], Any]], path: YamlPath) -> Any:
    parts = path.parts
    for pattern, fn in patterns:
        if len(pattern) == len(parts) and all(
            w == "*" or w == str(p) for w, p in zip(pattern, parts, strict=True)
        ):
            return fn
    return None


def unique(items: list[Any], path: YamlPath) -> list[Any]:
    """One item per identity (position of the first, value of the last), where the path has one."""
    key = _matching(_UNIQUE_PATTERNS, path)
    if key is None:
        return items
    out: list[Any] = []
    index: dict[str, int] = {}
    for item in items:
        k = key(item)
        if k in index:
            out[index[k]] = item
        else:
            index[k] = len(out)
            out.append(item)
    return out


def merge(base: Any, override: Any, path: YamlPath = ROOT) -> Any:
    """``override`` merged onto ``base``; neither is modified."""
    if isinstance(override, Reset):
        return override
    if isinstance(override, Override):
        return strip_tags(override.value)
    special = _matching(_SPECIAL_PATTERNS, path)
    if special is not None and base is not None:
        return special(base, strip_tags(override), path)
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            if key in out:
                merged = merge(out[key], value, path / key)
                if isinstance(merged, Reset):
                    del out[key]
                else:
                    out[key] = merged
            elif isinstance(value, Reset):
                continue
            else:
                out[key] = strip_tags(value)
        return out
    if isinstance(base, list) and isinstance(override, list):
        return unique([*base, *strip_tags(override)], path)
    return strip_tags(override)


def strip_tags(value: Any) -> Any:
    """``value`` with ``!override`` markers unwrapped and ``!reset`` entries removed."""
    if isinstance(value, Override):
        return strip_tags(value.value)
    if isinstance(value, dict):
        return {k: strip_tags(v) for k, v in value.items() if not isinstance(v, Reset)}
    if isinstance(value, list):
        return [strip_tags(v) for v in value if not isinstance(v, Reset)]
    if isinstance(value, Reset):
        return None
    return value


def enforce_unicity(model: dict[str, Any]) -> dict[str, Any]:
    """Duplicates removed inside one file too (``"3000"`` twice is one port), as compose-go does."""
    services = model.get("services")
    if not isinstance(services, dict):
        return model
    out = {}
    for name, service in services.items():
        if isinstance(service, dict):
            out[name] = {
                key: unique(value, YamlPath(("services", name, key))) if isinstance(value, list) else value
                for key, value in service.items()
            }
        else:
            out[name] = service
    return {**model, "services": out}


def check_unique_items(model: dict[str, Any], report: Report) -> None:
    """Report repeated items in the lists of :data:`WITHOUT_IDENTITY` (compose: a schema error)."""
    for name, service in (model.get("services") or {}).items():
        if not isinstance(service, dict):
            continue
        for key in WITHOUT_IDENTITY:
            items = service.get(key)
            if not isinstance(items, list):
                continue
            for j, item in enumerate(items):
                if item in items[:j]:
                    report.error(
                        YamlPath(("services", name, key)), f"items at {items.index(item)} and {j} are equal"
                    )
                    break
