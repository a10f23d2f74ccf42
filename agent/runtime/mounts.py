"""A container's mounts, and what must exist on the host before runc mounts them.

:func:`plan` is pure: it returns the OCI ``mounts`` list together with the host-side work
(:class:`GeneratedFile`, :class:`HostDir`, :class:`VolumeDir`) that
:func:`agent.runtime.preparing.prepare` carries out. The rules are docker's and podman's:

- runc's defaults first: /proc, /dev (tmpfs), /dev/pts, /dev/mqueue, /dev/shm (tmpfs of
  ``shm_size``, 64 MiB by default), /sys (read-only unless privileged) and the cgroup tree
  read-only. podman binds /dev/shm from a tmpfs it mounts on the host; Berth lets runc mount it,
  with the same size and options.
- binds: ``rbind`` with ro/rw and the propagation asked for (``rprivate`` otherwise); a missing host
  directory is created when the spec came from compose's short syntax (``create_host_path``) and
  refused otherwise, as docker does. SELinux labels (z/Z) are ignored: this host has no SELinux.
- named volumes: their directory from the store (``volumes/<name>/_data``), ``nosuid,nodev``; a
  new (empty) volume gets the image's content at the target copied in unless ``nocopy``, as docker
  does. Anonymous volumes (the spec's and the image's VOLUME paths not otherwise mounted) are
  named volumes with a name derived from the container and the target.
- tmpfs: ``nosuid,nodev`` plus size, mode, uid/gid and the flags given (podman's defaults; no
  ``tmpcopyup``, as docker: a tmpfs starts empty).
- files (secrets, configs, ConfigMap keys): written under the run directory, secrets 0600 unless
  the spec sets a mode, owned by the container's user, bind-mounted read-only.
- generated /etc/hosts, /etc/hostname, /etc/resolv.conf, unless the spec mounts something there.
- with ``init``, the init binary read-only at :data:`agent.runtime.inputs.INIT_TARGET`.

Parents are mounted before children (mounts sorted by depth, stable).
"""

from __future__ import annotations

import base64
import posixpath
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.runtime import etcfiles, rootpaths
from agent.runtime.configerrors import BundleError
from agent.runtime.inputs import INIT_TARGET, BundleInputs, anonymous_volume
from agent.runtime.users import ExecUser
from translators.spec.mounts import FileMount, TmpfsMount, VolumeMount

DEFAULT_SHM_SIZE = 64 << 20
SHARED = ("shared", "rshared")


@dataclass(frozen=True)
class GeneratedFile:
    """A file Berth writes on the host and binds into the container."""

    path: Path
    content: bytes | None
    """The data; None: copied from ``source``."""
    source: Path | None = None
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    secret: bool = False
    """Never logged; its directory is 0700."""


@dataclass(frozen=True)
class HostDir:
    """A bind mount's source: must exist, or be created when ``create``."""

    path: Path
    create: bool
    target: str


@dataclass(frozen=True)
class VolumeDir:
    """A named (or anonymous) volume's data directory."""

    name: str
    path: Path
    target: str
    copy_from: Path | None
    """The image's directory at the target, copied into the volume when the volume is new or
    empty; None with ``nocopy`` or when the image has nothing there."""
    subpath: str | None = None


@dataclass
class Plan:
    mounts: list[dict[str, Any]] = field(default_factory=list)
    files: list[GeneratedFile] = field(default_factory=list)
    host_dirs: list[HostDir] = field(default_factory=list)
    volumes: list[VolumeDir] = field(default_factory=list)
    rootfs_propagation: str | None = None
    warnings: list[str] = field(default_factory=list)


def _mount(destination: str, kind: str, source: str, options: list[str]) -> dict[str, Any]:
    return {"destination": destination, "type": kind, "source": source, "options": options}


def _size_k(size: int) -> str:
    return f"size={size // 1024}k" if size % 1024 == 0 else f"size={size}"


def default_mounts(*, shm_size: int | None, privileged: bool) -> list[dict[str, Any]]:
    """runc's and podman's standard filesystems, in the order podman lists them."""
    ro = ["rw"] if privileged else ["ro"]
    return [
        _mount("/proc", "proc", "proc", ["nosuid", "noexec", "nodev"]),
        _mount("/dev", "tmpfs", "tmpfs", ["nosuid", "noexec", "strictatime", "mode=755", "size=65536k"]),
        _mount(
            "/sys",
            "sysfs",
            "sysfs",
            [*(["rprivate"] if privileged else []), "nosuid", "noexec", "nodev", *ro],
        ),
        _mount(
            "/dev/pts",
            "devpts",
            "devpts",
            ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
        ),
        _mount("/dev/mqueue", "mqueue", "mqueue", ["nosuid", "noexec", "nodev"]),
        _mount(
            "/dev/shm",  # noqa: S108 - the container's shm, not a temporary file of ours
            "tmpfs",
            "shm",
            ["nosuid", "noexec", "nodev", "mode=1777", _size_k(shm_size or DEFAULT_SHM_SIZE)],
        ),
        _mount(
            "/sys/fs/cgroup", "cgroup", "cgroup", ["rprivate", "nosuid", "noexec", "nodev", "relatime", *ro]
        ),
    ]


def _depth(destination: str) -> int:
    return len([p for p in destination.split("/") if p])


def _bind(volume: VolumeMount, plan: Plan) -> dict[str, Any]:
    source = volume.source or ""  # the spec requires a source for binds
    options = volume.bind
    create = options.create_host_path if options is not None else True
    plan.host_dirs.append(HostDir(Path(source), create, volume.target))
    propagation = (options.propagation if options is not None else None) or "rprivate"
    if propagation in SHARED:
        plan.rootfs_propagation = "shared"
    if options is not None and options.selinux:
        plan.warnings.append(
            f"volume {source}:{volume.target}: SELinux relabeling ({options.selinux}) is ignored: "
            "SELinux is not enabled on this host"
        )
    return _mount(volume.target, "bind", source, ["rbind", "ro" if volume.readonly else "rw", propagation])


def _image_dir(inputs: BundleInputs, target: str) -> Path | None:
    path = rootpaths.resolve(inputs.image_root, target)
    return path if path.is_dir() and not path.is_symlink() else None


def _volume(
    inputs: BundleInputs, name: str, volume: VolumeMount | None, target: str, plan: Plan
) -> dict[str, Any]:
    if inputs.volume_dir is None:
        raise BundleError(f"{inputs.name}: volume {name} at {target}: no volume store given")
    options = volume.volume if volume is not None else None
    nocopy = options.nocopy if options is not None else False
    subpath = options.subpath if options is not None else None
    data = inputs.volume_dir(name)
    copy_from = None if nocopy or subpath else _image_dir(inputs, target)
    plan.volumes.append(VolumeDir(name, data, target, copy_from, subpath))
    source = rootpaths.resolve(data, subpath) if subpath else data
    readonly = volume.readonly if volume is not None else False
    return _mount(
        target, "bind", str(source), ["rbind", "ro" if readonly else "rw", "rprivate", "nosuid", "nodev"]
    )


def _tmpfs(tmpfs: TmpfsMount) -> dict[str, Any]:
    flags = {"nosuid", "nodev"}
    for flag in tmpfs.flags:
        if flag in ("exec", "suid", "dev"):
            flags.discard("no" + flag)
        else:
            flags.add(flag)
    options = ["ro" if tmpfs.readonly else "rw", "rprivate", *sorted(flags)]
    if tmpfs.size is not None:
        options.append(f"size={tmpfs.size}")
    if tmpfs.mode is not None:
        options.append(f"mode={tmpfs.mode:o}")
    if tmpfs.uid is not None:
        options.append(f"uid={tmpfs.uid}")
    if tmpfs.gid is not None:
        options.append(f"gid={tmpfs.gid}")
    return _mount(tmpfs.target, "tmpfs", "tmpfs", options)


def _file_name(index: int, target: str) -> str:
    base = posixpath.basename(target) or "file"
    return f"{index}-{base}"


def _file(inputs: BundleInputs, index: int, spec: FileMount, user: ExecUser, plan: Plan) -> dict[str, Any]:
    directory = inputs.files.secrets if spec.secret else inputs.files.files
    host = directory / _file_name(index, spec.target)
    mode = spec.mode if (not spec.secret or "mode" in spec.model_fields_set) else 0o600
    content: bytes | None = None
    if spec.content is not None:
        if spec.encoding == "base64":
            try:
                content = base64.b64decode(spec.content, validate=True)
            except ValueError:
                raise BundleError(f"{inputs.name}: file {spec.target}: content is not valid base64") from None
        else:
            content = spec.content.encode()
    plan.files.append(
        GeneratedFile(
            host,
            content,
            Path(spec.source) if spec.source is not None else None,
            mode,
            spec.uid if spec.uid is not None else user.uid,
            spec.gid if spec.gid is not None else user.gid,
            secret=spec.secret,
        )
    )
    return _mount(spec.target, "bind", str(host), ["rbind", "ro", "rprivate", "nosuid", "nodev"])


def _generated(
    inputs: BundleInputs, taken: set[str], readonly_root: bool, plan: Plan
) -> list[dict[str, Any]]:
    network = inputs.deployment.spec.config.network
    hostname = inputs.container_hostname
    files = inputs.files
    wanted: list[tuple[str, Path, str | None]] = [
        ("/etc/hostname", files.hostname, etcfiles.hostname_file(hostname)),
        (
            "/etc/hosts",
            files.hosts,
            etcfiles.hosts(
                network,
                hostname,
                aliases=inputs.aliases,
                addresses=inputs.addresses,
                host_hosts=inputs.host_hosts,
            ),
        ),
        (
            "/etc/resolv.conf",
            files.resolv_conf,
            etcfiles.resolv_conf(
                network,
                host_resolv=inputs.host_resolv,
                network_servers=inputs.dns_servers,
                network_search=inputs.dns_search,
            ),
        ),
    ]
    options = ["rbind", "rprivate", *(["ro", "nosuid", "noexec", "nodev"] if readonly_root else [])]
    out = []
    for target, host, text in wanted:
        if text is None or target in taken:
            continue
        plan.files.append(GeneratedFile(host, text.encode()))
        out.append(_mount(target, "bind", str(host), list(options)))
    return out


def plan(inputs: BundleInputs, user: ExecUser) -> Plan:
    """Every mount of the container, and the host work they need."""
    config = inputs.deployment.spec.config
    security = config.security
    result = Plan()
    own: list[dict[str, Any]] = []
    for volume in config.volumes:
        if volume.type == "bind":
            own.append(_bind(volume, result))
        else:
            name = volume.source or anonymous_volume(inputs.name, volume.target)
            own.append(_volume(inputs, name, volume, volume.target, result))
    for tmpfs in config.tmpfs:
        own.append(_tmpfs(tmpfs))
    for index, spec in enumerate(config.files):
        own.append(_file(inputs, index, spec, user, result))
    seen: set[str] = set()
    for mount in own:
        if mount["destination"] in seen:
            raise BundleError(f"{inputs.name}: two mounts at {mount['destination']}")
        seen.add(mount["destination"])
    for declared in inputs.deployment.image_config.volumes:
        target = rootpaths.normalise(declared)
        if target not in seen and not any(target.startswith(s.rstrip("/") + "/") for s in seen):
            own.append(_volume(inputs, anonymous_volume(inputs.name, target), None, target, result))
            seen.add(target)
    extra = _generated(inputs, seen, security.readonly, result)
    if config.init:
        extra.append(_mount(INIT_TARGET, "bind", str(inputs.init_binary), ["bind", "ro", "rprivate"]))
    shm = "/dev/shm"  # noqa: S108 - the container's shm, not a temporary file of ours
    defaults = []
    for mount in default_mounts(shm_size=config.resources.shm_size, privileged=security.privileged):
        if mount["destination"] in seen:
            continue
        if mount["destination"] == shm and inputs.shm_source is not None:
            options = ["rbind", "rprivate", "nosuid", "noexec", "nodev"]
            defaults.append(_mount(shm, "bind", str(inputs.shm_source), options))
        else:
            defaults.append(mount)
    result.mounts = [*defaults, *sorted([*extra, *own], key=lambda m: _depth(m["destination"]))]
    return result
