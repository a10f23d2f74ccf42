"""Phase 10: cross-reference checks on the merged project (compose-go's ``checkConsistency``).

Every service needs an image or a build; the networks, volumes, secrets and configs it uses must be
declared; ``depends_on`` must name enabled services (unless ``required: false``, then a warning);
``network_mode`` excludes ``networks``. Cycles are checked just before, by the loader.
"""

from __future__ import annotations

from typing import Any

from translators.compose.reporting import Report
from translators.paths import YamlPath


def check(model: dict[str, Any], report: Report) -> None:
    services: dict[str, Any] = model.get("services") or {}
    declared = {s: set(model.get(s) or {}) for s in ("networks", "volumes", "secrets", "configs")}
    for name, service in services.items():
        at = YamlPath(("services", name))
        if not isinstance(service, dict):
            report.error(at, "must be a mapping")
            continue
        if not service.get("image") and not service.get("build"):
            report.error(at, f'service "{name}" has neither an image nor a build context specified')
        _distinct_limits(service, at, report)
        mode = service.get("network_mode")
        nets = service.get("networks") or {}
        if mode and nets:
            report.error(
                at / "network_mode",
                f"service {name} declares mutually exclusive `network_mode` and `networks`",
            )
        if isinstance(mode, str) and mode.startswith("service:") and mode[8:] not in services:
            report.error(at / "network_mode", f"service \"{mode[8:]}\" not found for network_mode '{mode}'")
        for net in nets if isinstance(nets, dict) else ():
            if net not in declared["networks"] and net != "default":
                report.error(at / "networks" / net, f'service "{name}" refers to undefined network {net}')
        for i, vol in enumerate(service.get("volumes") or []):
            source = vol.get("source") if isinstance(vol, dict) and vol.get("type") == "volume" else None
            if source and source not in declared["volumes"]:
                report.error(at / "volumes" / i, f'service "{name}" refers to undefined volume {source}')
        for section, word in (("secrets", "secret"), ("configs", "config")):
            for i, ref in enumerate(service.get(section) or []):
                source = ref.get("source") if isinstance(ref, dict) else None
                if source and source not in declared[section]:
                    report.error(at / section / i, f'service "{name}" refers to undefined {word} {source}')
        for dep, spec in (service.get("depends_on") or {}).items():
            required = not (isinstance(spec, dict) and spec.get("required") is False)
            if dep not in services:
                if required:
                    report.error(
                        at / "depends_on" / dep,
                        f'service "{name}" depends on undefined service "{dep}"',
                        code="missing-reference",
                    )
                else:
                    report.warn(
                        at / "depends_on" / dep, f'optional dependency "{dep}" is not defined, ignored'
                    )
                continue


# (service key, deploy.resources part, key there): the two places one limit can be set
_SAME_LIMIT = (
    ("mem_limit", "limits", "memory"),
    ("cpus", "limits", "cpus"),
    ("pids_limit", "limits", "pids"),
    ("mem_reservation", "reservations", "memory"),
)


def _distinct_limits(service: dict[str, Any], at: YamlPath, report: Report) -> None:
    resources = (service.get("deploy") or {}).get("resources") or {}
    for key, part, name in _SAME_LIMIT:
        section = resources.get(part) if isinstance(resources, dict) else None
        if key not in service or not isinstance(section, dict):
            continue
        if _number(section.get(name)) != _number(service[key]):
            report.error(
                at / key, f"can't set distinct values on '{key}' and 'deploy.resources.{part}.{name}'"
            )


def _number(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None
