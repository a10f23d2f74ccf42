"""Phase 3: interpolate ``${VAR}`` references in the values (never the keys) of one file.

Runs per file, before include, extends and merge, as compose-go does, so each file sees the
environment of its own project directory. After substitution, values at a few typed paths are cast
(``"3"`` to 3, ``"true"`` to True) the way compose-go's ``TypeCastMapping`` does: a string there that
is not a number or boolean is an error at that path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from translators.compose import template
from translators.compose.reporting import Report
from translators.paths import ROOT, YamlPath
from translators.yamlio import Override, Reset

_TRUE = {"y", "yes", "true", "on"}
_FALSE = {"n", "no", "false", "off"}


def _to_bool(text: str) -> bool:
    low = text.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(f"expected a boolean, got {text!r}")


def _to_int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"expected an integer, got {text!r}") from None


def _to_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"expected a number, got {text!r}") from None


Cast = Callable[[str], Any]
CASTS: dict[str, Cast] = {
    "services.*.configs.*.mode": _to_int,
    "services.*.cpu_count": _to_int,
    "services.*.cpu_percent": _to_float,
    "services.*.cpu_period": _to_int,
    "services.*.cpu_quota": _to_int,
    "services.*.cpu_rt_period": _to_int,
    "services.*.cpu_rt_runtime": _to_int,
    "services.*.cpus": _to_float,
    "services.*.cpu_shares": _to_int,
    "services.*.init": _to_bool,
    "services.*.deploy.replicas": _to_int,
    "services.*.deploy.restart_policy.max_attempts": _to_int,
    "services.*.healthcheck.retries": _to_int,
    "services.*.healthcheck.disable": _to_bool,
    "services.*.oom_kill_disable": _to_bool,
    "services.*.oom_score_adj": _to_int,
    "services.*.pids_limit": _to_int,
    "services.*.ports.*.target": _to_int,
    "services.*.privileged": _to_bool,
    "services.*.read_only": _to_bool,
    "services.*.scale": _to_int,
    "services.*.secrets.*.mode": _to_int,
    "services.*.stdin_open": _to_bool,
    "services.*.tty": _to_bool,
    "services.*.ulimits.*": _to_int,
    "services.*.ulimits.*.hard": _to_int,
    "services.*.ulimits.*.soft": _to_int,
    "services.*.volumes.*.read_only": _to_bool,
    "services.*.volumes.*.volume.nocopy": _to_bool,
    "networks.*.external": _to_bool,
    "networks.*.internal": _to_bool,
    "networks.*.attachable": _to_bool,
    "volumes.*.external": _to_bool,
    "secrets.*.external": _to_bool,
    "configs.*.external": _to_bool,
}
_CAST_PATTERNS = [(p.split("."), f) for p, f in CASTS.items()]


def _cast_for(path: YamlPath) -> Cast | None:
    parts = path.parts
    for pattern, cast in _CAST_PATTERNS:
        if len(pattern) == len(parts) and all(w in ("*", p) for w, p in zip(pattern, parts, strict=True)):
            return cast
    return None


def interpolate(data: Any, env: Mapping[str, str], report: Report, file: str, at: YamlPath = ROOT) -> Any:
    """A copy of ``data`` with every string value substituted and typed paths cast."""

    def walk(value: Any, path: YamlPath) -> Any:
        if isinstance(value, str):
            try:
                text = template.substitute(
                    value,
                    env.get,
                    report.unset_warner(path, file),
                )
            except template.TemplateError as exc:
                report.error(path, str(exc), file=file)
                return value
            cast = _cast_for(path) if path.parts and path.parts[0] in _SECTIONS else None
            if cast is not None:
                try:
                    return cast(text)
                except ValueError as exc:
                    report.error(path, str(exc), file=file)
            return text
        if isinstance(value, dict):
            return {k: walk(v, path / k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, path / i) for i, v in enumerate(value)]
        if isinstance(value, Override):
            return Override(walk(value.value, path))
        if isinstance(value, Reset):
            return value
        return value

    return walk(data, at)


_SECTIONS = {"services", "networks", "volumes", "secrets", "configs"}
