"""Phase 9: defaults and normalisation, so the model equals ``docker compose config``'s output.

The project name, absolute paths, the ``default`` network for services that name none,
``<project>_<key>`` names of networks, volumes, secrets and configs, build defaults, implicit
``depends_on`` from ``links``, ``network_mode: service:X`` and ``volumes_from``, and each service's
``env_file`` read and merged under its ``environment`` (explicit entries win; bare keys take the
project environment's value when it has one).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from translators.compose import dotenv, inputs, paths
from translators.compose.parsing import read_text
from translators.compose.reporting import Report
from translators.paths import YamlPath
from translators.spec import units

normalise_project_name = inputs.normalise_project_name


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


def resolve_label_files(service: dict[str, Any], at: YamlPath, report: Report) -> None:
    """Merge ``label_file`` contents under ``labels`` (explicit labels win), as docker compose does.

    Label files are dotenv files read without any environment: ``${VAR}`` is blank, bare keys vanish.
    """
    from_files: dict[str, str] = {}
    for i, path in enumerate(service.pop("label_file", None) or []):
        if not isinstance(path, str):
            continue
        if not inputs.is_file(path):
            report.error(at / "label_file" / i, f"label file {path} not found", code="not-found")
            continue
        text = read_text(path, report, what="label file")
        if text is None:
            continue
        try:
            from_files.update(
                dotenv.parse(text, dotenv.chained(from_files), report.unset_warner(at / "label_file" / i))
            )
        except dotenv.DotenvError as exc:
            report.error(at / "label_file" / i, f"failed to read {path}: {exc}")
    if from_files:
        service["labels"] = {**from_files, **(service.get("labels") or {})}


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

        if not inputs.is_file(path):
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
        for key in [k for k, v in service.items() if _empty(v) and k not in _KEPT_WHEN_EMPTY]:
            del service[key]  # Go's omitempty: empty, false and zero values are not printed
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
        resolve_label_files(service, at, report)
        _go_units(service, at, report)
        _healthcheck(service)
        _build_args(service, env)
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
    _prune(model)
    for section in ("networks", "volumes"):
        for item in (model.get(section) or {}).values():
            if isinstance(item, dict):
                _stringify_options(item)
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


# Go pointers and non-omitempty fields: printed even when empty
_KEPT_WHEN_EMPTY = frozenset(
    {"command", "entrypoint", "deploy", "healthcheck", "logging", "build", "develop", "init", "blkio_config",
     "credential_spec"}
)  # fmt: skip


def _empty(value: Any) -> bool:
    return value is None or value is False or (type(value) in (int, float, str, list, dict) and not value)


_BYTES = ("mem_limit", "mem_reservation", "memswap_limit", "shm_size")


def _as_bytes(value: Any, path: YamlPath, report: Report) -> Any:
    """A size as docker compose prints it: the number of bytes, as a string.

    The integer ``-1`` (unlimited) stays, as in docker compose, which rejects the string ``"-1"``.
    """
    if value is None:
        return None
    if value == -1 and type(value) is int:
        return "-1"
    try:
        return str(units.parse_memory(value))
    except ValueError as exc:
        report.error(path, str(exc))
        return value


def _go_units(service: dict[str, Any], at: YamlPath, report: Report) -> None:
    """Sizes as byte strings, CPUs as numbers, file modes as octal strings, deploy's empty defaults."""
    for key in _BYTES:
        if key in service:
            service[key] = _as_bytes(service[key], at / key, report)
    deploy = service.get("deploy")
    if isinstance(deploy, dict):
        resources = deploy.setdefault("resources", {})
        deploy.setdefault("placement", {})
        for kind in ("limits", "reservations"):
            part = resources.get(kind) if isinstance(resources, dict) else None
            if isinstance(part, dict):
                for device in part.get("devices") or []:
                    if isinstance(device, dict):
                        for key in [k for k, v in device.items() if v in ([], {})]:
                            del device[key]
                if "memory" in part:
                    part["memory"] = _as_bytes(
                        part["memory"], at / "deploy" / "resources" / kind / "memory", report
                    )
                if isinstance(part.get("cpus"), str):
                    try:
                        part["cpus"] = float(part["cpus"])
                    except ValueError:
                        report.error(
                            at / "deploy" / "resources" / kind / "cpus", f"invalid cpus {part['cpus']!r}"
                        )
    for i, vol in enumerate(service.get("volumes") or []):
        tmpfs = vol.get("tmpfs") if isinstance(vol, dict) else None
        if isinstance(tmpfs, dict) and "size" in tmpfs:
            tmpfs["size"] = _as_bytes(tmpfs["size"], at / "volumes" / i / "tmpfs" / "size", report)
    for section in ("secrets", "configs"):
        for ref in service.get(section) or []:
            if not isinstance(ref, dict):
                continue
            if section == "secrets" and not ref.get("target") and ref.get("source"):
                ref["target"] = f"/run/secrets/{ref['source']}"
            if isinstance(ref.get("mode"), int):
                ref["mode"] = f"0{ref['mode']:o}"


def _healthcheck(service: dict[str, Any]) -> None:
    """After the merge, ``test: []`` and ``disable: false`` say nothing: docker compose omits them."""
    hc = service.get("healthcheck")
    if isinstance(hc, dict):
        for key in ("test", "disable"):
            if hc.get(key, True) in ([], False):
                del hc[key]


def _build_args(service: dict[str, Any], env: Mapping[str, str]) -> None:
    build = service.get("build")
    args = build.get("args") if isinstance(build, dict) else None
    if isinstance(args, dict) and isinstance(build, dict):
        build["args"] = {k: env[k] if v is None else v for k, v in args.items() if v is not None or k in env}


def _prune(model: dict[str, Any]) -> None:
    """Top-level networks, volumes, secrets and configs no service uses are left out, as compose does."""
    used: dict[str, set[str]] = {s: set() for s in ("networks", "volumes", "secrets", "configs")}
    for service in (model.get("services") or {}).values():
        if not isinstance(service, dict):
            continue
        used["networks"].update(service.get("networks") or {})
        for vol in service.get("volumes") or []:
            if isinstance(vol, dict) and vol.get("type") == "volume" and vol.get("source"):
                used["volumes"].add(vol["source"])
        for section in ("secrets", "configs"):
            used[section].update(
                r["source"] for r in service.get(section) or [] if isinstance(r, dict) and "source" in r
            )
    for section, names in used.items():
        declared = model.get(section)
        if isinstance(declared, dict):
            kept = {k: v for k, v in declared.items() if k in names}
            if kept:
                model[section] = kept
            else:
                del model[section]


def _stringify_options(resource: dict[str, Any]) -> None:
    opts = resource.get("driver_opts")
    if isinstance(opts, dict):
        resource["driver_opts"] = {k: v if isinstance(v, str) else str(v) for k, v in opts.items()}


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
