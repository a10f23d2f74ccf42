"""A pod's ``volumes`` and each container's ``volumeMounts``.

- ``hostPath`` -> a bind mount (``type: DirectoryOrCreate`` or no type creates a missing
  directory; the other types expect it to exist); ``mountPropagation`` HostToContainer -> rslave,
  Bidirectional -> rshared.
- ``emptyDir`` (also a volume without a source: the API server defaults it to one) with
  ``medium: Memory`` -> a tmpfs sized by ``sizeLimit``, read-only for a ``readOnly`` mount (a
  ``subPath`` of it is reported: the tmpfs is mounted whole). On disk: an anonymous volume, or,
  when several containers of the pod mount it, a named volume ``<pod>-<volume>`` so they share it
  (it then outlives the pod, unlike an emptyDir, and with several replicas every replica mounts
  it: reported).
- ``persistentVolumeClaim`` -> the named volume of the claim's name (the claim's storage request
  is the project volume's size); StatefulSet ``volumeClaimTemplates`` -> ``<template>-<set>-0``.
- ``configMap``, ``secret``, ``downwardAPI``, ``projected`` -> one file per key under the mount
  path (:mod:`translators.kubernetes.projections`); ``subPath`` picks one file or directory.
- ``subPath`` on claims and shared volumes -> ``volume.subpath``; on host paths it joins the path.
  ``subPathExpr`` is expanded with the container's environment first.
- Network and cloud disks Berth cannot attach on one host (gcePersistentDisk, awsElasticBlockStore,
  azureDisk, azureFile, cephfs, glusterfs, iscsi, fc, cinder, flexVolume, nfs, csi, ephemeral, and
  the other in-tree plugins) -> the host-local named volume ``<namespace>-<volume>`` with a warning:
  the mount is never dropped, and its data survives redeploys as it would on a PVC (an ephemeral
  volume's claim template gives the size). The source's ``readOnly`` is kept.
- Other volume types (gitRepo, image) are reported; mounts of them are skipped.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from translators.kubernetes import expansion, projections, reporting
from translators.kubernetes.objects import quantity_bytes
from translators.kubernetes.reporting import ObjectDiagnostics
from translators.kubernetes.templates import PodContext
from translators.paths import YamlPath

_FILE_KINDS = ("configMap", "secret", "downwardAPI", "projected")
SUBSTITUTED = (
    "gcePersistentDisk", "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "glusterfs",
    "iscsi", "fc", "cinder", "flexVolume", "nfs", "csi", "ephemeral", "rbd", "flocker",
    "vsphereVolume", "quobyte", "photonPersistentDisk", "portworxVolume", "scaleIO", "storageos",
)  # fmt: skip
"""Volume sources that need a cluster's attach/mount machinery: each becomes a host-local volume."""
_KINDS = ("hostPath", "emptyDir", "persistentVolumeClaim", *_FILE_KINDS, *SUBSTITUTED)
_HOST_TYPES = {
    "",
    "DirectoryOrCreate",
    "Directory",
    "FileOrCreate",
    "File",
    "Socket",
    "CharDevice",
    "BlockDevice",
}
_PROPAGATION = {"None": None, "HostToContainer": "rslave", "Bidirectional": "rshared"}


@dataclass
class PodVolume:
    """One entry of the pod's ``volumes``, read and checked once."""

    name: str
    kind: str
    data: dict[str, Any]
    at: YamlPath
    files: list[projections.File] = field(default_factory=list)
    users: int = 0


@dataclass
class Mounts:
    """What a container's mounts become in its spec, and the named volumes they use."""

    volumes: list[dict[str, Any]] = field(default_factory=list)
    tmpfs: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    named: dict[str, int | None] = field(default_factory=dict)
    origins: dict[tuple[str | int, ...], YamlPath] = field(default_factory=dict)
    """``("volumes", 0)`` and the like to the ``volumeMounts`` entry they came from."""

    def note(self, at: YamlPath | None) -> None:
        """Record ``at`` as the origin of every mount added since the last note."""
        if at is None:
            return
        for kind, items in (("volumes", self.volumes), ("tmpfs", self.tmpfs), ("files", self.files)):
            for index in range(len(items)):
                self.origins.setdefault((kind, index), at)


def pod_volumes(ctx: PodContext, containers: list[dict[str, Any]]) -> dict[str, PodVolume]:
    """Read the pod's volumes and count the containers that mount each one."""
    diag, template = ctx.diag, ctx.template
    at = template.at / "volumes"
    out: dict[str, PodVolume] = {}
    for path, volume in reporting.mappings(template.spec.get("volumes"), at, diag):
        name = reporting.string(volume.get("name"), path / "name", diag, required=True)
        if name is None:
            continue
        if name in out:
            diag.error(path / "name", f"duplicate volume name {name!r}")
            continue
        kinds = [k for k in volume if k != "name"] or ["emptyDir"]  # the API server's default
        if len(kinds) != 1:
            diag.error(path, f"expected exactly one volume source, got {', '.join(kinds)}")
            continue
        kind = kinds[0]
        data = reporting.mapping(volume.get(kind), path / kind, diag)
        pod_volume = PodVolume(name, kind, data, path / kind)
        if kind not in _KINDS:
            diag.unsupported(path / kind, f"{kind} volumes are not supported; mounts of {name!r} are skipped")
        elif kind in SUBSTITUTED:
            diag.warn(
                path / kind,
                f"{kind} cannot be attached on one host: mounts of {name!r} use the host-local named "
                f"volume {substitute_name(ctx.namespace, name)!r} instead (its data stays on this host "
                "and survives redeploys)",
                code="substituted",
            )
        elif kind in _FILE_KINDS:
            pod_volume.files = projections.volume_files(
                kind,
                data,
                at=path / kind,
                diag=diag,
                store=ctx.store,
                template=template,
                namespace=ctx.namespace,
            )
        elif kind == "emptyDir":
            reporting.check_keys(data, path / kind, diag, {"medium", "sizeLimit"})
            if "sizeLimit" in data and data.get("medium") != "Memory":
                diag.unsupported(path / kind / "sizeLimit", "disk-backed emptyDir sizes are not limited")
        elif kind == "hostPath":
            reporting.check_keys(data, path / kind, diag, {"path", "type"})
        else:
            reporting.check_keys(data, path / kind, diag, {"claimName", "readOnly"})
        out[name] = pod_volume
    for container in containers:
        listed = container.get("volumeMounts")
        items = listed if isinstance(listed, list) else []
        mounted = {m.get("name") for m in items if isinstance(m, dict) and isinstance(m.get("name"), str)}
        for name in mounted:
            if name in out:
                out[name].users += 1
    for shared in out.values():
        on_disk = shared.kind == "emptyDir" and not shared.data.get("medium")
        if on_disk and shared.users > 1 and template.replicas > 1:
            diag.warn(
                shared.at,
                f"every replica mounts the one volume {template.name}-{shared.name}: "
                "the emptyDir is shared between replicas, not one per pod",
            )
    return out


def container_mounts(
    ctx: PodContext,
    volumes: dict[str, PodVolume],
    container: dict[str, Any],
    at: YamlPath,
    env: dict[str, str],
) -> Mounts:
    """The spec's mounts for one container's ``volumeMounts``."""
    diag = ctx.diag
    out = Mounts()
    previous: YamlPath | None = None
    for path, mount in reporting.mappings(container.get("volumeMounts"), at / "volumeMounts", diag):
        out.note(previous)
        previous = path
        reporting.check_keys(
            mount,
            path,
            diag,
            {"name", "mountPath", "readOnly", "subPath", "subPathExpr", "mountPropagation"},
            {"recursiveReadOnly": "read-only mounts are not made recursively read-only"},
        )
        name = reporting.string(mount.get("name"), path / "name", diag, required=True)
        target = reporting.string(mount.get("mountPath"), path / "mountPath", diag, required=True)
        readonly = reporting.boolean(mount.get("readOnly"), path / "readOnly", diag) or False
        valid, sub = _sub_path(mount, path, diag, env)
        propagation_raw = reporting.string(mount.get("mountPropagation"), path / "mountPropagation", diag)
        if name is None or target is None or not valid:
            continue
        if not target.startswith("/"):
            diag.error(path / "mountPath", f"must be an absolute path, got {target!r}")
            continue
        if propagation_raw is not None and propagation_raw not in _PROPAGATION:
            diag.error(path / "mountPropagation", "expected None, HostToContainer or Bidirectional")
            continue
        propagation = _PROPAGATION.get(propagation_raw or "None")
        volume = volumes.get(name)
        if volume is None:
            if name in ctx.template.claim_templates:
                claim = ctx.template.claim_templates[name]
                out.named.setdefault(claim, ctx.template.claim_sizes.get(claim))
                out.volumes.append(_named(claim, target, readonly, sub))
                continue
            diag.error(path / "name", f"no volume named {name!r} in the pod's volumes")
            continue
        if propagation and volume.kind != "hostPath":
            diag.unsupported(path / "mountPropagation", "propagation applies to hostPath mounts only")
        if volume.kind not in _KINDS:
            continue
        if volume.kind in _FILE_KINDS:
            out.files += _files(volume, target, sub, path, ctx)
        elif volume.kind == "hostPath":
            bind = _host_path(
                volume, target=target, readonly=readonly, sub=sub, propagation=propagation, ctx=ctx
            )
            if bind is not None:
                out.volumes.append(bind)
        elif volume.kind == "persistentVolumeClaim":
            _claim(volume, target=target, readonly=readonly, sub=sub, ctx=ctx, out=out)
        elif volume.kind in SUBSTITUTED:
            local = substitute_name(ctx.namespace, volume.name)
            out.named.setdefault(local, _ephemeral_size(volume, ctx))
            out.volumes.append(_named(local, target, readonly or volume.data.get("readOnly") is True, sub))
        else:
            _empty_dir(volume, mount, target=target, readonly=readonly, sub=sub, ctx=ctx, out=out, at=path)
    out.note(previous)
    return out


def substitute_name(namespace: str, volume: str) -> str:
    """The host-local volume standing for a disk Berth cannot attach: ``<namespace>-<volume>``."""
    return f"{namespace}-{volume}"


def _ephemeral_size(volume: PodVolume, ctx: PodContext) -> int | None:
    """The storage request of an ephemeral volume's claim template, the substitute's size."""
    if volume.kind != "ephemeral":
        return None
    at = volume.at / "volumeClaimTemplate" / "spec" / "resources" / "requests"
    template = volume.data.get("volumeClaimTemplate")
    requests = _at(template, ("spec", "resources", "requests"))
    if not isinstance(requests, dict) or "storage" not in requests:
        return None
    return quantity_bytes(requests["storage"], at / "storage", ctx.diag)


def _at(data: object, keys: tuple[str, ...]) -> object:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _sub_path(
    mount: dict[str, Any], at: YamlPath, diag: ObjectDiagnostics, env: dict[str, str]
) -> tuple[bool, str | None]:
    """Whether the mount's subPath is valid, and the subPath (subPathExpr expanded) or None."""
    if "subPath" in mount and "subPathExpr" in mount:
        diag.error(at, "subPath and subPathExpr are mutually exclusive")
        return False, None
    key = "subPathExpr" if "subPathExpr" in mount else "subPath"
    sub = reporting.string(mount.get(key), at / key, diag)
    if not sub:
        return True, None
    if key == "subPathExpr":
        sub = expansion.expand_with(sub, env)
    if sub.startswith("/") or ".." in sub.split("/"):
        diag.error(at / key, f"expected a relative path without '..', got {sub!r}")
        return False, None
    return True, posixpath.normpath(sub)


def _named(name: str, target: str, readonly: bool, sub: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "volume", "source": name, "target": target, "readonly": readonly}
    if sub:
        out["volume"] = {"subpath": sub}
    return out


def _files(
    volume: PodVolume, target: str, sub: str | None, at: YamlPath, ctx: PodContext
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for file in volume.files:
        if sub is None:
            place = posixpath.join(target, file.path)
        elif file.path == sub:
            place = target
        elif file.path.startswith(sub + "/"):
            place = posixpath.join(target, file.path[len(sub) + 1 :])
        else:
            continue
        item: dict[str, Any] = {"target": place, "content": file.content, "mode": file.final_mode}
        if file.encoding != "utf-8":
            item["encoding"] = file.encoding
        if file.secret:
            item["secret"] = True
        out.append(item)
    if sub is not None and not out and volume.files:
        ctx.diag.warn(at / "subPath", f"no file of volume {volume.name!r} is at {sub!r}: nothing is mounted")
    return out


def _host_path(
    volume: PodVolume,
    *,
    target: str,
    readonly: bool,
    sub: str | None,
    propagation: str | None,
    ctx: PodContext,
) -> dict[str, Any] | None:
    diag, data = ctx.diag, volume.data
    source = reporting.string(data.get("path"), volume.at / "path", diag, required=True)
    kind = reporting.string(data.get("type"), volume.at / "type", diag) or ""
    if source is None:
        return None
    if not source.startswith("/"):
        diag.error(volume.at / "path", f"must be an absolute path, got {source!r}")
        return None
    if kind not in _HOST_TYPES:
        diag.error(volume.at / "type", f"unknown hostPath type {kind!r}")
        return None
    if kind == "FileOrCreate":
        diag.warn(volume.at / "type", "a missing file is not created: the agent expects it to exist")
    bind: dict[str, Any] = {"create_host_path": kind in ("", "DirectoryOrCreate")}
    if propagation:
        bind["propagation"] = propagation
    full = posixpath.join(source, sub) if sub else source
    return {"type": "bind", "source": full, "target": target, "readonly": readonly, "bind": bind}


def _claim(
    volume: PodVolume, *, target: str, readonly: bool, sub: str | None, ctx: PodContext, out: Mounts
) -> None:
    diag, data = ctx.diag, volume.data
    claim = reporting.string(data.get("claimName"), volume.at / "claimName", diag, required=True)
    claim_readonly = reporting.boolean(data.get("readOnly"), volume.at / "readOnly", diag) or False
    if claim is None:
        return
    if claim not in ctx.store.claims:
        diag.warn(
            volume.at / "claimName",
            f'PersistentVolumeClaim "{claim}" is not in the input: a local volume of that name is used',
            code="notice",
        )
    out.named[claim] = ctx.store.claims.get(claim)
    out.volumes.append(_named(claim, target, readonly or claim_readonly, sub))


def _empty_dir(
    volume: PodVolume,
    mount: dict[str, Any],
    *,
    target: str,
    readonly: bool,
    sub: str | None,
    ctx: PodContext,
    out: Mounts,
    at: YamlPath,
) -> None:
    diag, data = ctx.diag, volume.data
    medium = reporting.string(data.get("medium"), volume.at / "medium", diag) or ""
    size = quantity_bytes(data["sizeLimit"], volume.at / "sizeLimit", diag) if "sizeLimit" in data else None
    if medium == "Memory":
        if volume.users > 1:
            diag.warn(
                at,
                f"emptyDir {volume.name!r} in memory is not shared between containers: each has a tmpfs",
            )
        if sub:
            diag.unsupported(
                at / ("subPathExpr" if "subPathExpr" in mount else "subPath"),
                "a memory emptyDir is mounted whole: each container has its own tmpfs",
            )
        tmpfs: dict[str, Any] = {"target": target}
        if size:
            tmpfs["size"] = size
        if readonly:
            tmpfs["readonly"] = True
        out.tmpfs.append(tmpfs)
        return
    if medium:
        diag.error(volume.at / "medium", f'expected "" or Memory, got {medium!r}')
        return
    if volume.users > 1:
        name = f"{ctx.template.name}-{volume.name}"
        out.named.setdefault(name, None)
        out.volumes.append(_named(name, target, readonly, sub))
    else:
        out.volumes.append({"type": "volume", "source": None, "target": target, "readonly": readonly})
