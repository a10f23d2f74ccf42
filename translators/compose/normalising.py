"""Phase 9: defaults and normalisation, so the model equals ``docker compose config``'s output.

The project name, absolute paths, the ``default`` network for services that name none,
``<project>_<key>`` names of networks, volumes, secrets and configs, build defaults, implicit
``depends_on`` from ``links``, ``network_mode: service:X`` and ``volumes_from``, and each service's
``env_file`` read and merged under its ``environment`` (explicit entries win; bare keys take the
project environment's value when it has one).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from translators.compose import dotenv, paths
from translators.compose.parsing import read_text
from translators.compose.reporting import Report
from translators.paths import YamlPath

_INVALID_NAME_CHARS = re.compile(r"[^a-z0-9_-]")


def normalise_project_name(name: str) -> str:
    """Lowercase with characters other than ``a-z 0-9 _ -`` removed, starting with a letter or digit."""
    return _INVALID_NAME_CHARS.sub("", name.lower()).lstrip("_-")


def _dependency(service: dict[str, Any], name: str, *, restart: bool) -> None:
    deps = service.setdefault("depends_on", {})
    if isinstance(deps, dict) and name not in deps:
        deps[name] = {
            "condition": "service_started",
            **({"restart": True} if restart else {}),
            "required": True,
        }


def _implicit_dependencies(service: dict[str, Any]) -> None:
    for link in service.get("links") or []:
        _dependency(service, str(link).split(":", 1)[0], restart=True)
    for key in ("network_mode", "ipc"):
        mode = service.get(key)
        if isinstance(mode, str) and mode.startswith("service:"):
            _dependency(service, mode[len("service:") :], restart=True)
    for source in service.get("volumes_from") or []:
        text = str(source)
        if not text.startswith("container:"):
            _dependency(service, text.split(":", 1)[0], restart=False)


def resolve_environment(
    service: dict[str, Any], at: YamlPath, env: Mapping[str, str], report: Report
) -> None:
    """Merge ``env_file`` contents under ``environment`` and resolve bare keys from ``env``."""
    from_files: dict[str, str] = {}
    for i, item in enumerate(service.pop("env_file", None) or []):
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            continue
        path = item["path"]
        if item.get("format") not in (None, "raw", "env"):
            report.warn(
                at / "env_file" / i / "format", f"format {item['format']!r} not supported, read as env"
            )

        if not os.path.isfile(path):
            if item.get("required", True):
                report.error(at / "env_file" / i, f"env file {path} not found", code="not-found")
            continue
        text = read_text(path, report, what="env file")
        if text is None:
            continue
        if item.get("format") == "raw":
            for line in text.splitlines():
                key, eq, value = line.partition("=")
                if eq and key:
                    from_files[key] = value
            continue
        try:
            from_files.update(
                dotenv.parse(
                    text,
                    dotenv.chained(env, from_files),
                    report.unset_warner(at / "env_file" / i),
                )
            )
        except dotenv.DotenvError as exc:
            report.error(at / "env_file" / i, f"failed to read {path}: {exc}")
    explicit = service.get("environment")
    merged: dict[str, Any] = dict(from_files)
    if isinstance(explicit, dict):
        for key, value in explicit.items():
            merged[key] = env.get(key) if value is None else value
    if merged or explicit is not None:
        service["environment"] = merged
        report.dollars = report.dollars or any("$" in v for v in merged.values() if isinstance(v, str))


def normalise(
    model: dict[str, Any], name: str, project_dir: str, env: Mapping[str, str], report: Report
) -> dict[str, Any]:
    """The model in ``docker compose config`` form (modified in place and returned)."""
    home = env.get("HOME")
    paths.resolve_model(model, project_dir, home)
    model.pop("version", None)
    model["name"] = name
    services = model.setdefault("services", {})
    given = model.get("networks")
    networks: dict[str, Any] = given if isinstance(given, dict) else {}
    uses_default = False
    for svc_name, service in services.items():
        if not isinstance(service, dict):
            continue
        at = YamlPath(("services", svc_name))
        for key in [k for k, v in service.items() if v in ([], {}) and k not in ("command", "entrypoint")]:
            del service[key]  # Go's omitempty: empty lists and maps are not printed
        service.pop("profiles", None) if not service.get("profiles") else None
        service.setdefault("command", None)
        service.setdefault("entrypoint", None)
        build = service.get("build")
        if isinstance(build, dict):
            build.setdefault("context", project_dir)
            if "dockerfile_inline" not in build:
                build.setdefault("dockerfile", "Dockerfile")
        if "network_mode" not in service and not service.get("networks"):
            service["networks"] = {"default": None}
        if isinstance(service.get("networks"), dict) and "default" in service["networks"]:
            uses_default = True
        _implicit_dependencies(service)
        if not service.get("depends_on"):
            service.pop("depends_on", None)
        resolve_environment(service, at, env, report)
        if isinstance(service.get("volumes"), list):
            service["volumes"] = [_omit_empty(v) for v in service["volumes"]]
    if uses_default and "default" not in networks:
        networks = {"default": {}, **networks}
    for key, net in networks.items():
        if isinstance(net, dict):
            _name(net, key, name)
            net.setdefault("ipam", {})
    if networks:
        model["networks"] = networks
    for section in ("volumes", "secrets", "configs"):
        for key, item in (model.get(section) or {}).items():
            if isinstance(item, dict):
                _name(item, key, name)
    return model


def _omit_empty(mount: Any) -> Any:
    """Go's ``omitempty``: false, zero and empty values of a mount's options are not printed."""
    if not isinstance(mount, dict):
        return mount
    out = {}
    for key, value in mount.items():
        if key in ("bind", "volume", "tmpfs", "image") and isinstance(value, dict):
            out[key] = {k: v for k, v in value.items() if v not in (False, None, "", 0)}
        elif value not in (False, None, ""):
            out[key] = value
    return out


def escape_dollars(value: Any) -> Any:
    """``$`` written as ``$$``, as ``docker compose config`` prints literal dollars."""
    kind = type(value)
    if kind is str:
        return value.replace("$", "$$") if "$" in value else value
    if kind is dict:
        return {escape_dollars(k): escape_dollars(v) for k, v in value.items()}
    if isinstance(value, list):
        return [escape_dollars(v) for v in value]
    return value


def _name(resource: dict[str, Any], key: str, project: str) -> None:
    if "name" not in resource:
        resource["name"] = key if resource.get("external") else f"{project}_{key}"
