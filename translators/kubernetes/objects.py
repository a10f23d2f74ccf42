"""The objects of one input, and the data that workloads may refer to: ConfigMaps, Secrets, claims.

A pod refers to ConfigMaps, Secrets and PersistentVolumeClaims by name within its namespace.
Kubernetes resolves them on the node at start time; Berth resolves them at translation time, from
the same input, so a missing one is an error now rather than a pod stuck in ``CreateContainerConfigError``.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any, Literal

from translators.kubernetes import reporting
from translators.kubernetes.reporting import ObjectDiagnostics
from translators.paths import YamlPath
from translators.spec.units import parse_quantity

Encoding = Literal["utf-8", "base64"]
DATA = YamlPath.of("data")


@dataclass
class Obj:
    """One Kubernetes object of the input, with the collector for its diagnostics."""

    api_version: str
    kind: str
    name: str
    namespace: str
    data: dict[str, Any]
    diag: ObjectDiagnostics
    not_applied: bool = False
    """Read but deliberately not applied (a suspended Job): listed in ``Project.not_applied``."""

    @property
    def ref(self) -> str:
        """``Kind/name``: how ``kubectl`` and :attr:`Project.not_applied` name an object."""
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class Entry:
    """One key of a ConfigMap or Secret: text, or base64 for binary data and Secret ``data``."""

    value: str
    encoding: Encoding

    def text(self) -> str:
        """The value as text, for environment variables (invalid UTF-8 is replaced)."""
        if self.encoding == "utf-8":
            return self.value
        return base64.b64decode(self.value).decode("utf-8", errors="replace")

    def is_text(self) -> bool:
        if self.encoding == "utf-8":
            return True
        try:
            base64.b64decode(self.value).decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True


@dataclass
class Source:
    """A ConfigMap or Secret: its keys in the order given."""

    kind: Literal["ConfigMap", "Secret"]
    name: str
    entries: dict[str, Entry] = field(default_factory=dict)

    @property
    def secret(self) -> bool:
        return self.kind == "Secret"


@dataclass
class Store:
    """ConfigMaps, Secrets and claims of the input by name (one namespace per translation)."""

    config_maps: dict[str, Source] = field(default_factory=dict)
    secrets: dict[str, Source] = field(default_factory=dict)
    claims: dict[str, int | None] = field(default_factory=dict)
    """Claim name to requested storage in bytes (None when not given)."""

    def source(self, kind: Literal["ConfigMap", "Secret"], name: str) -> Source | None:
        return (self.config_maps if kind == "ConfigMap" else self.secrets).get(name)


def _valid_base64(value: str) -> bool:
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def read_config_map(obj: Obj) -> Source:
    """``data`` (text) and ``binaryData`` (base64); ``immutable`` changes nothing for Berth."""
    diag = obj.diag
    reporting.check_keys(
        obj.data,
        YamlPath(),
        diag,
        {"apiVersion", "kind", "metadata", "data", "binaryData"},
        {"immutable": ""},
    )
    source = Source("ConfigMap", obj.name)
    for key, value in reporting.mapping(obj.data.get("data"), DATA, diag).items():
        text = reporting.string(value, DATA.child(key), diag)
        if text is not None:
            source.entries[key] = Entry(text, "utf-8")
    at = YamlPath.of("binaryData")
    for key, value in reporting.mapping(obj.data.get("binaryData"), at, diag).items():
        text = reporting.string(value, at.child(key), diag)
        if text is None:
            continue
        if key in source.entries:
            diag.error(at.child(key), f"key {key!r} is in both data and binaryData")
        elif not _valid_base64(text):
            diag.error(at.child(key), "expected base64 data")
        else:
            source.entries[key] = Entry(text, "base64")
    return source


def read_secret(obj: Obj) -> Source:
    """``data`` is base64; ``stringData`` is text and wins over ``data`` for the same key, as in the API."""
    diag = obj.diag
    reporting.check_keys(
        obj.data,
        YamlPath(),
        diag,
        {"apiVersion", "kind", "metadata", "data", "stringData"},
        {"immutable": "", "type": ""},
    )
    source = Source("Secret", obj.name)
    for key, value in reporting.mapping(obj.data.get("data"), DATA, diag).items():
        text = reporting.string(value, DATA.child(key), diag)
        if text is None:
            continue
        compact = "".join(text.split())
        if not _valid_base64(compact):
            diag.error(
                DATA.child(key), "expected base64 data (Secret data is base64; use stringData for text)"
            )
        else:
            source.entries[key] = Entry(compact, "base64")
    at = YamlPath.of("stringData")
    for key, value in reporting.mapping(obj.data.get("stringData"), at, diag).items():
        text = reporting.string(value, at.child(key), diag)
        if text is not None:
            source.entries[key] = Entry(text, "utf-8")
    return source


_CLAIM_IGNORED = {
    "accessModes": "",  # one node: every access mode holds
    "storageClassName": "storage classes are not applied: a local volume is used",
    "selector": "claims are not bound to PersistentVolumes",
    "volumeName": "claims are not bound to PersistentVolumes",
    "volumeMode": "",
    "dataSource": "volumes start empty",
    "dataSourceRef": "volumes start empty",
    "volumeAttributesClassName": "",
}


def read_claim(obj: Obj) -> int | None:
    """The storage request in bytes: informational, Berth's local volumes are not sized."""
    diag = obj.diag
    reporting.check_keys(
        obj.data, YamlPath(), diag, {"apiVersion", "kind", "metadata", "spec"}, {"status": ""}
    )
    spec_at = YamlPath.of("spec")
    spec = reporting.mapping(obj.data.get("spec"), spec_at, diag)
    reporting.check_keys(spec, spec_at, diag, {"resources"}, _CLAIM_IGNORED)
    res_at = spec_at / "resources"
    resources = reporting.mapping(spec.get("resources"), res_at, diag)
    reporting.check_keys(
        resources, res_at, diag, {"requests"}, {"limits": "volume size limits are not enforced"}
    )
    req_at = res_at / "requests"
    requests = reporting.mapping(resources.get("requests"), req_at, diag)
    reporting.check_keys(requests, req_at, diag, {"storage"})
    if "storage" not in requests:
        return None
    return quantity_bytes(requests["storage"], req_at / "storage", diag)


def quantity_bytes(value: object, at: YamlPath, diag: ObjectDiagnostics) -> int | None:
    """A Kubernetes quantity as whole bytes (``512Mi``, ``1G``, ``1e9``), rounded up."""
    try:
        amount = parse_quantity(value)
    except ValueError as exc:
        diag.error(at, str(exc))
        return None
    if amount < 0:
        diag.error(at, f"a size cannot be negative, got {value!r}")
        return None
    return int(amount.to_integral_value(rounding="ROUND_CEILING"))
