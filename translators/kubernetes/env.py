"""A container's environment: ``envFrom``, then ``env``, with ``$(VAR)`` expanded as the kubelet does.

Precedence follows Kubernetes: the image's ENV (applied by the agent) < ``envFrom`` sources in order
< ``env`` entries in order; a later definition of a name replaces an earlier one and keeps its place.
``env`` values may refer to variables defined before them; ``valueFrom`` values and ``envFrom``
values are never expanded. Variables that come from a Secret (directly, or by expanding one) are
listed in ``secret_env``; a plain value that replaces one makes it non-secret again. Every ``$``
left after expansion is literal, so it is written ``$$`` in the spec (whose ``${VAR}`` the agent
would substitute).

A ``fieldRef`` is resolved where the value is known when translating (``metadata.name`` is the
workload's name, which Berth gives the pod; namespace, labels, annotations, service account). The
pod's uid, node name and IP addresses are only known to a scheduler: they are reported and left
unset. A ``resourceFieldRef`` is resolved from the container's own limits and requests; an unset
limit means "the node's capacity", which is not known either.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from translators.kubernetes import expansion, reporting
from translators.kubernetes.objects import Entry
from translators.kubernetes.templates import PodContext
from translators.paths import YamlPath
from translators.spec.units import parse_quantity

_VALID_NAME = re.compile(r"^[^=\s]+$")
_LABEL_REF = re.compile(r"^metadata\.(labels|annotations)\['([^']*)'\]$")
_UNKNOWABLE = {
    "metadata.uid": "the pod's uid",
    "spec.nodeName": "the node's name",
    "status.hostIP": "the node's IP address",
    "status.hostIPs": "the node's IP addresses",
    "status.podIP": "the pod's IP address",
    "status.podIPs": "the pod's IP addresses",
}
_RESOURCES = {
    "limits.cpu",
    "limits.memory",
    "requests.cpu",
    "requests.memory",
    "limits.ephemeral-storage",
    "requests.ephemeral-storage",
}


@dataclass
class Environment:
    """Variables in definition order, and which of them carry secrets."""

    values: dict[str, str] = field(default_factory=dict)
    secret: set[str] = field(default_factory=set)
    origins: dict[str, YamlPath] = field(default_factory=dict)
    """Where each variable's value was last defined (an ``env`` or ``envFrom`` entry)."""

    def set(self, name: str, value: str, *, secret: bool, at: YamlPath) -> None:
        self.values[name] = value
        self.origins[name] = at
        if secret:
            self.secret.add(name)
        else:
            self.secret.discard(name)

    def as_list(self) -> list[str]:
        """``KEY=VALUE`` entries for the spec, every ``$`` written ``$$``.

        Kubernetes keeps a value literally once ``$(VAR)`` is expanded, but the spec's ``${VAR}``
        is substituted by the agent at deploy time: escaping makes the container see the value.
        """
        return [f"{k}={v.replace('$', '$$')}" for k, v in self.values.items()]

    def secret_names(self) -> list[str]:
        return [k for k in self.values if k in self.secret]


def container_env(ctx: PodContext, container: dict[str, Any], at: YamlPath) -> Environment:
    """The container's environment as Kubernetes would build it, image ENV aside."""
    env = Environment()
    for path, source in reporting.mappings(container.get("envFrom"), at / "envFrom", ctx.diag):
        _env_from(ctx, env, source, path)
    for path, entry in reporting.mappings(container.get("env"), at / "env", ctx.diag):
        _env_var(ctx, env, entry, path, container)
    return env


def _env_from(ctx: PodContext, env: Environment, source: dict[str, Any], at: YamlPath) -> None:
    diag = ctx.diag
    reporting.check_keys(source, at, diag, {"prefix", "configMapRef", "secretRef"})
    prefix = reporting.string(source.get("prefix"), at / "prefix", diag) or ""
    refs = [k for k in ("configMapRef", "secretRef") if k in source]
    if len(refs) != 1:
        diag.error(at, "expected exactly one of configMapRef or secretRef")
        return
    key = refs[0]
    kind: Literal["ConfigMap", "Secret"] = "ConfigMap" if key == "configMapRef" else "Secret"
    ref = reporting.mapping(source[key], at / key, diag)
    reporting.check_keys(ref, at / key, diag, {"name", "optional"})
    name = reporting.string(ref.get("name"), at / key / "name", diag, required=True)
    optional = reporting.boolean(ref.get("optional"), at / key / "optional", diag) or False
    if name is None:
        return
    found = ctx.store.source(kind, name)
    if found is None:
        if not optional:
            diag.error(at / key, f'{kind} "{name}" is not in the input', code="missing-reference")
        return
    for entry_key, entry in found.entries.items():
        var = prefix + entry_key
        _check_text(ctx, at / key, kind=kind, name=name, key=entry_key, entry=entry)
        if not _VALID_NAME.match(var):
            diag.warn(
                at,
                f'{kind} "{name}" key {entry_key!r} is not a valid variable name: skipped, '
                "as the kubelet skips it",
            )
            continue
        env.set(var, entry.text(), secret=found.secret, at=at)


def _env_var(
    ctx: PodContext, env: Environment, entry: dict[str, Any], at: YamlPath, container: dict[str, Any]
) -> None:
    diag = ctx.diag
    reporting.check_keys(entry, at, diag, {"name", "value", "valueFrom"})
    name = reporting.string(entry.get("name"), at / "name", diag, required=True)
    if name is None:
        return
    if not _VALID_NAME.match(name):
        diag.error(at / "name", f"invalid environment variable name {name!r}")
        return
    if "valueFrom" in entry and entry.get("value") not in (None, ""):
        diag.error(at, "value and valueFrom are mutually exclusive")
        return
    if "valueFrom" not in entry:
        raw = entry.get("value")
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            diag.error(at / "value", f"expected a string, got {reporting.type_name(raw)} (quote it)")
            return
        value = reporting.string(raw, at / "value", diag) or ""
        refs = [r for r in expansion.references(value) if r in env.values]
        secret = any(r in env.secret for r in refs)
        env.set(name, expansion.expand_with(value, env.values), secret=secret, at=at)
        return
    resolved = _value_from(ctx, entry["valueFrom"], at / "valueFrom", container)
    if resolved is not None:
        env.set(name, resolved[0], secret=resolved[1], at=at)


def _value_from(
    ctx: PodContext, raw: object, at: YamlPath, container: dict[str, Any]
) -> tuple[str, bool] | None:
    diag = ctx.diag
    value_from = reporting.mapping(raw, at, diag)
    kinds = ("configMapKeyRef", "secretKeyRef", "fieldRef", "resourceFieldRef")
    reporting.check_keys(value_from, at, diag, kinds)
    present = [k for k in kinds if k in value_from]
    if len(present) != 1:
        diag.error(at, f"expected exactly one of {', '.join(kinds)}")
        return None
    key = present[0]
    if key in ("configMapKeyRef", "secretKeyRef"):
        return _key_ref(ctx, value_from[key], at / key, "ConfigMap" if key == "configMapKeyRef" else "Secret")
    if key == "fieldRef":
        value = _field_ref(ctx, value_from[key], at / key)
    else:
        value = _resource_ref(ctx, value_from[key], at / key, container)
    return None if value is None else (value, False)


def _key_ref(ctx: PodContext, raw: object, at: YamlPath, kind: str) -> tuple[str, bool] | None:
    diag = ctx.diag
    ref = reporting.mapping(raw, at, diag)
    reporting.check_keys(ref, at, diag, {"name", "key", "optional"})
    name = reporting.string(ref.get("name"), at / "name", diag, required=True)
    key = reporting.string(ref.get("key"), at / "key", diag, required=True)
    optional = reporting.boolean(ref.get("optional"), at / "optional", diag) or False
    if name is None or key is None:
        return None
    source = ctx.store.source("ConfigMap" if kind == "ConfigMap" else "Secret", name)
    if source is None:
        if not optional:
            diag.error(at, f'{kind} "{name}" is not in the input', code="missing-reference")
        return None
    entry = source.entries.get(key)
    if entry is None:
        if not optional:
            diag.error(at, f'{kind} "{name}" has no key "{key}"', code="missing-reference")
        return None
    _check_text(ctx, at, kind=kind, name=name, key=key, entry=entry)
    return entry.text(), source.secret


def _check_text(ctx: PodContext, at: YamlPath, *, kind: str, name: str, key: str, entry: Entry) -> None:
    if not entry.is_text():
        ctx.diag.warn(
            at, f'{kind} "{name}" key "{key}" is not UTF-8 text: invalid bytes are replaced in the variable'
        )


def _field_ref(ctx: PodContext, raw: object, at: YamlPath) -> str | None:
    diag = ctx.diag
    ref = reporting.mapping(raw, at, diag)
    reporting.check_keys(ref, at, diag, {"fieldPath", "apiVersion"})
    path = reporting.string(ref.get("fieldPath"), at / "fieldPath", diag, required=True)
    if path is None:
        return None
    template = ctx.template
    if path == "metadata.name":
        return template.name
    if path == "metadata.namespace":
        return ctx.namespace
    if path == "spec.serviceAccountName":
        return ctx.service_account
    m = _LABEL_REF.match(path)
    if m:
        values = template.labels if m.group(1) == "labels" else template.annotations
        return values.get(m.group(2), "")
    if path in _UNKNOWABLE:
        diag.warn(
            at / "fieldPath",
            f"{path} ({_UNKNOWABLE[path]}) is not known before the container runs: the variable is not set",
        )
        return None
    diag.error(at / "fieldPath", f"unsupported fieldPath {path!r}")
    return None


def _resource_ref(ctx: PodContext, raw: object, at: YamlPath, container: dict[str, Any]) -> str | None:
    diag = ctx.diag
    ref = reporting.mapping(raw, at, diag)
    reporting.check_keys(ref, at, diag, {"containerName", "resource", "divisor"})
    resource = reporting.string(ref.get("resource"), at / "resource", diag, required=True)
    target = reporting.string(ref.get("containerName"), at / "containerName", diag) or container.get("name")
    if resource is None:
        return None
    if resource not in _RESOURCES:
        diag.error(
            at / "resource",
            f"unsupported resource {resource!r}: expected one of {', '.join(sorted(_RESOURCES))}",
        )
        return None
    if not isinstance(target, str) or target not in ctx.resources:
        diag.error(at / "containerName", f"no container named {target!r} in this pod")
        return None
    try:
        divisor = parse_quantity(ref.get("divisor", "1"))
    except ValueError as exc:
        diag.error(at / "divisor", str(exc))
        return None
    if divisor <= 0:
        diag.error(at / "divisor", "the divisor must be positive")
        return None
    kind, _, name = resource.partition(".")
    resources = ctx.resources[target]
    raw_value = _resource_value(resources, kind, name)
    if raw_value is None:
        if kind == "limits":
            diag.warn(
                at / "resource",
                f"{target!r} sets no {resource}: Kubernetes gives the node's capacity, "
                "which is not known here; the variable is not set",
            )
            return None
        raw_value = 0
    try:
        amount = parse_quantity(raw_value)
    except ValueError:
        return None  # reported where the container's resources are read
    return str(math.ceil(Decimal(amount) / divisor))


def _resource_value(resources: dict[str, Any], kind: str, name: str) -> object:
    limits, requests = resources.get("limits"), resources.get("requests")
    limit = limits.get(name) if isinstance(limits, dict) else None
    if kind == "limits":
        return limit
    request = requests.get(name) if isinstance(requests, dict) else None
    return limit if request is None else request
