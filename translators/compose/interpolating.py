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
from translators.paths import YamlPath
from translators.yamlio import Override

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
_CAST_BY_SHAPE: dict[tuple[str | int, ...], Cast] = {tuple(p.split(".")): f for p, f in CASTS.items()}


def _cast_for(parts: tuple[str | int, ...]) -> Cast | None:
    """The cast registered for a path: names (position 1, ulimit names) and indexes are ``*``."""
    shape: list[str | int] = [parts[0], "*", *("*" if isinstance(p, int) else p for p in parts[2:])]
    if len(shape) > 3 and shape[2] == "ulimits":
        shape[3] = "*"
    return _CAST_BY_SHAPE.get(tuple(shape))


def interpolate(data: Any, env: Mapping[str, str], report: Report, file: str) -> Any:
    """``data`` with strings substituted and typed paths cast, changed in place.

    In place is safe because phase 2 built fresh containers: YAML aliases no longer share them.
    """

    def text_at(value: str, parts: tuple[str | int, ...]) -> Any:
        text = value
        if "$" in value:
            try:
                text = template.substitute(value, env.get, report.unset_warner(YamlPath(parts), file))
                report.dollars = report.dollars or "$" in text
            except template.TemplateError as exc:
                report.error(YamlPath(parts), str(exc), file=file)
                return value
        if len(parts) > 2 and parts[0] in _SECTIONS:
            cast = _cast_for(parts)
            if cast is not None:
                try:
                    return cast(text)
                except ValueError as exc:
                    report.error(YamlPath(parts), str(exc), file=file)
        return text

    def walk(value: Any, parts: tuple[str | int, ...]) -> Any:
        kind = type(value)
        if kind is str:
            return text_at(value, parts)
        if kind is dict:
            for key, item in value.items():
                value[key] = walk(item, (*parts, key))
        elif kind is list:
            for i, item in enumerate(value):
                value[i] = walk(item, (*parts, i))
        elif kind is Override:
            return Override(walk(value.value, parts))
        return value

    return walk(data, ())


_SECTIONS = {"services", "networks", "volumes", "secrets", "configs"}
