"""The files a ``configMap``, ``secret``, ``downwardAPI`` or ``projected`` volume holds.

Kubernetes writes such a volume as a directory of files, one per key (or per ``items`` entry, at
its ``path``), with ``defaultMode`` (0644 unless given) or the item's ``mode``. Berth writes a
Secret's files 0600 unless the manifest gives a mode (its rule for secrets; the file belongs to the
container's user, so 0600 reads where Kubernetes' root-owned files need 0644); a mode the manifest
gives is kept, as a kubelet user who wrote ``defaultMode: 0440`` for a group expects. Berth has no such
directory: each file becomes a :class:`~translators.spec.FileMount` under the mount path, so the
rest of the image's directory stays visible (Kubernetes would hide it).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any, Literal

from translators.kubernetes import reporting
from translators.kubernetes.objects import Entry, Store
from translators.kubernetes.reporting import ObjectDiagnostics
from translators.kubernetes.templates import PodTemplate
from translators.paths import YamlPath

DEFAULT_MODE = 0o644
SECRET_MODE = 0o600


@dataclass(frozen=True)
class File:
    """One file of a volume, at a path relative to the volume's root."""

    path: str
    content: str
    encoding: Literal["utf-8", "base64"]
    mode: int | None
    """The mode the manifest gives (``defaultMode`` or the item's); None: the default of its kind."""
    secret: bool

    @property
    def final_mode(self) -> int:
        """The mode written: the manifest's, else 0600 for a Secret's file and 0644 for others."""
        if self.mode is not None:
            return self.mode
        return SECRET_MODE if self.secret else DEFAULT_MODE


def _mode(raw: object, at: YamlPath, diag: ObjectDiagnostics) -> int | None:
    mode = reporting.integer(raw, at, diag, minimum=0)
    if mode is not None and mode > 0o777:
        diag.error(at, f"expected a file mode from 0 to 0777 (511), got {mode}")
        return None
    return mode


def _relative(raw: object, at: YamlPath, diag: ObjectDiagnostics) -> str | None:
    path = reporting.string(raw, at, diag, required=True)
    if path is None:
        return None
    parts = path.split("/")
    if path.startswith("/") or ".." in parts:
        diag.error(at, f"expected a relative path without '..', got {path!r}")
        return None
    return posixpath.normpath(path)


def key_files(
    kind: Literal["ConfigMap", "Secret"],
    data: dict[str, Any],
    *,
    at: YamlPath,
    diag: ObjectDiagnostics,
    store: Store,
    default_mode: int | None,
) -> list[File]:
    """The files of a ConfigMap or Secret source (a volume, or a ``projected`` source)."""
    name_key = "secretName" if kind == "Secret" and "secretName" in data else "name"
    name = reporting.string(data.get(name_key), at / name_key, diag, required=True)
    optional = reporting.boolean(data.get("optional"), at / "optional", diag) or False
    if name is None:
        return []
    source = store.source(kind, name)
    if source is None:
        if not optional:
            diag.error(at / name_key, f'{kind} "{name}" is not in the input', code="missing-reference")
        return []
    files: list[File] = []

    def add(entry: Entry, path: str, mode: int | None) -> None:
        files.append(File(path, entry.value, entry.encoding, mode, source.secret))

    if "items" not in data:
        for key, entry in source.entries.items():
            add(entry, key, default_mode)
        return files
    for path, item in reporting.mappings(data.get("items"), at / "items", diag):
        reporting.check_keys(item, path, diag, {"key", "path", "mode"})
        item_key = reporting.string(item.get("key"), path / "key", diag, required=True)
        rel = _relative(item.get("path"), path / "path", diag)
        mode = _mode(item.get("mode"), path / "mode", diag)
        if item_key is None or rel is None:
            continue
        found = source.entries.get(item_key)
        if found is None:
            if not optional:
                diag.error(path / "key", f'{kind} "{name}" has no key "{item_key}"', code="missing-reference")
            continue
        add(found, rel, default_mode if mode is None else mode)
    return files


def _labels_file(values: dict[str, str]) -> str:
    """The downward API's format: one ``key="value"`` per line, sorted, values quoted as Go does."""
    return "\n".join(f'{k}="{_go_quote(v)}"' for k, v in sorted(values.items()))


def _go_quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def downward_files(
    data: dict[str, Any],
    *,
    at: YamlPath,
    diag: ObjectDiagnostics,
    template: PodTemplate,
    namespace: str,
    default_mode: int | None,
) -> list[File]:
    """The files of a ``downwardAPI`` source: the pod's name, namespace, labels and annotations."""
    files: list[File] = []
    for path, item in reporting.mappings(data.get("items"), at / "items", diag):
        reporting.check_keys(
            item,
            path,
            diag,
            {"path", "fieldRef", "mode"},
            {"resourceFieldRef": "resource values in files are not supported"},
        )
        rel = _relative(item.get("path"), path / "path", diag)
        mode = _mode(item.get("mode"), path / "mode", diag)
        if "fieldRef" not in item:
            continue
        ref = reporting.mapping(item["fieldRef"], path / "fieldRef", diag)
        reporting.check_keys(ref, path / "fieldRef", diag, {"fieldPath", "apiVersion"})
        field_path = reporting.string(
            ref.get("fieldPath"), path / "fieldRef" / "fieldPath", diag, required=True
        )
        content = _field(field_path, template, namespace)
        if content is None:
            if field_path is not None:
                diag.unsupported(
                    path / "fieldRef" / "fieldPath", f"{field_path} is not known when translating"
                )
            continue
        if rel is not None:
            files.append(File(rel, content, "utf-8", default_mode if mode is None else mode, False))
    return files


def _field(field_path: str | None, template: PodTemplate, namespace: str) -> str | None:
    if field_path == "metadata.name":
        return template.name
    if field_path == "metadata.namespace":
        return namespace
    if field_path == "metadata.labels":
        return _labels_file(template.labels)
    if field_path == "metadata.annotations":
        return _labels_file(template.annotations)
    for kind in ("labels", "annotations"):
        prefix = f"metadata.{kind}['"
        if field_path and field_path.startswith(prefix) and field_path.endswith("']"):
            values = template.labels if kind == "labels" else template.annotations
            return values.get(field_path[len(prefix) : -2], "")
    return None


def volume_files(
    kind: str,
    data: dict[str, Any],
    *,
    at: YamlPath,
    diag: ObjectDiagnostics,
    store: Store,
    template: PodTemplate,
    namespace: str,
) -> list[File]:
    """The files of a configMap, secret, downwardAPI or projected volume, checked once per pod."""
    mode = _mode(data.get("defaultMode"), at / "defaultMode", diag) if "defaultMode" in data else None
    if kind == "configMap":
        reporting.check_keys(data, at, diag, {"name", "items", "defaultMode", "optional"})
        return key_files("ConfigMap", data, at=at, diag=diag, store=store, default_mode=mode)
    if kind == "secret":
        reporting.check_keys(data, at, diag, {"secretName", "items", "defaultMode", "optional"})
        return key_files("Secret", data, at=at, diag=diag, store=store, default_mode=mode)
    if kind == "downwardAPI":
        reporting.check_keys(data, at, diag, {"items", "defaultMode"})
        return downward_files(
            data, at=at, diag=diag, template=template, namespace=namespace, default_mode=mode
        )
    reporting.check_keys(data, at, diag, {"sources", "defaultMode"})
    files: list[File] = []
    for path, source in reporting.mappings(data.get("sources"), at / "sources", diag):
        reporting.check_keys(
            source,
            path,
            diag,
            {"configMap", "secret", "downwardAPI"},
            {
                "serviceAccountToken": "there is no API server to issue tokens",
                "clusterTrustBundle": "there is no API server to read bundles from",
            },
        )
        for key in ("configMap", "secret", "downwardAPI"):
            if key not in source:
                continue
            body = reporting.mapping(source[key], path / key, diag)
            if key == "downwardAPI":
                reporting.check_keys(body, path / key, diag, {"items"})
                files += downward_files(
                    body, at=path / key, diag=diag, template=template, namespace=namespace, default_mode=mode
                )
            else:
                reporting.check_keys(body, path / key, diag, {"name", "items", "optional"})
                files += key_files(
                    "ConfigMap" if key == "configMap" else "Secret",
                    body,
                    at=path / key,
                    diag=diag,
                    store=store,
                    default_mode=mode,
                )
    return files
