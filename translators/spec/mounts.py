"""What a container sees in its filesystem: volumes, bind mounts, tmpfs, files and devices.

Short forms (``"/srv/data:/data:ro"``, ``"cache:/var/cache"``, ``"/run:size=64m"``,
``"/dev/fuse"``) are parsed here, once, into the long form.
"""

import posixpath
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from translators.spec.base import SpecModel, also_accepts, empty_list, mutually_exclusive, short_forms
from translators.spec.units import parse_memory

VOLUME_FORMS = '"/host/path:/ctr/path[:ro]", "volume-name:/ctr/path[:ro]" or "/ctr/path"'
_BIND_OPTIONS = {"shared", "rshared", "slave", "rslave", "private", "rprivate"}


def _octal(value: Any) -> Any:
    """Permission bits are written in octal by people ("0644", "1777") and as integers by programs."""
    if isinstance(value, str):
        try:
            return int(value, 8)
        except ValueError:
            raise ValueError(f"expected octal permission bits such as 0644, got {value!r}") from None
    return value


def _mode_range(value: int) -> int:
    if not 0 <= value <= 0o7777:
        raise ValueError(f"permission bits must be between 0 and 0o7777, got {value:#o}")
    return value


Mode = Annotated[int, BeforeValidator(_octal, json_schema_input_type=int | str), AfterValidator(_mode_range)]


def _absolute(value: str, what: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"{what} must be an absolute path, got {value!r}")
    return posixpath.normpath(value) if value != "/" else value


class BindOptions(SpecModel):
    """Options of a bind mount."""

    propagation: Literal["shared", "rshared", "slave", "rslave", "private", "rprivate"] | None = None
    """Mount propagation; null keeps the runtime's default (rprivate)."""
    create_host_path: bool = True
    """Create the host directory when it is missing (docker's short-syntax behaviour)."""
    selinux: Literal["z", "Z"] | None = None
    """Relabel the source for SELinux: z shared, Z private."""


class VolumeOptions(SpecModel):
    """Options of a named volume mount."""

    nocopy: bool = False
    """Do not copy the image's content at the target into a new, empty volume."""
    subpath: str | None = None
    """Mount only this sub-directory of the volume."""


class VolumeMount(SpecModel):
    """A bind mount of a host path or a named volume, at a path inside the container."""

    type: Literal["bind", "volume"] = "volume"
    """bind: a host path; volume: a named volume the agent manages (anonymous when source is null)."""
    source: str | None = None
    """Host path (bind, absolute) or volume name (volume)."""
    target: str
    """Absolute path inside the container."""
    readonly: bool = False
    """Mount read-only."""
    bind: Annotated[BindOptions, also_accepts(BindOptions | bool)] | None = None
    """Bind options, only with type bind; ``true`` (the product document's form) selects type bind."""
    volume: Annotated[VolumeOptions, also_accepts(VolumeOptions | bool)] | None = None
    """Volume options, only with type volume; ``true`` selects type volume."""

    @model_validator(mode="before")
    @classmethod
    def _select_type(cls, value: Any) -> Any:
        """The document's forms: ``"bind": true`` / ``"volume": true`` name the type, and without
        a type an absolute source path is a bind mount (a name is a named volume)."""
        if not isinstance(value, dict):
            return value
        value = dict(value)
        chosen = [k for k in ("bind", "volume") if value.get(k) is True]
        for key in ("bind", "volume"):
            if isinstance(value.get(key), bool):
                del value[key]
        if len(chosen) > 1:
            raise mutually_exclusive("bind: true", "volume: true")
        given = value.get("type")
        if chosen and given is not None and given != chosen[0]:
            raise ValueError(f"{chosen[0]}: true contradicts type {given!r}")
        if given is None:
            if chosen:
                value["type"] = chosen[0]
            elif isinstance(value.get("bind"), dict):
                value["type"] = "bind"
            elif isinstance(value.get("volume"), dict):
                value["type"] = "volume"
            else:
                source = value.get("source")
                value["type"] = "bind" if isinstance(source, str) and source.startswith("/") else "volume"
        return value

    @field_validator("target")
    @classmethod
    def _target(cls, value: str) -> str:
        return _absolute(value, "target")

    @model_validator(mode="after")
    def _consistent(self) -> "VolumeMount":
        if self.type == "bind":
            if not self.source:
                raise ValueError("a bind mount needs a source path")
            self.source = _absolute(self.source, "bind source")
            if self.volume is not None:
                raise ValueError("volume options apply only to type volume")
        else:
            if self.source is not None and ("/" in self.source or not self.source):
                raise ValueError(f"volume name {self.source!r} must not contain '/'")
            if self.bind is not None:
                raise ValueError("bind options apply only to type bind")
        return self


def parse_volume(text: str) -> dict[str, Any]:
    """One short volume string as a long-form mapping."""
    parts = text.split(":")
    if not text or len(parts) > 3:
        raise ValueError(f"expected {VOLUME_FORMS}, got {text!r}")
    if len(parts) == 1:
        return {"type": "volume", "source": None, "target": parts[0]}
    source, target = parts[0], parts[1]
    options = parts[2].split(",") if len(parts) == 3 else []
    is_bind = source.startswith(("/", ".", "~"))
    mount: dict[str, Any] = {"type": "bind" if is_bind else "volume", "source": source, "target": target}
    bind: dict[str, Any] = {}
    volume: dict[str, Any] = {}
    for opt in filter(None, options):
        if opt == "ro":
            mount["readonly"] = True
        elif opt == "rw":
            mount["readonly"] = False
        elif opt in ("z", "Z") and is_bind:
            bind["selinux"] = opt
        elif opt in _BIND_OPTIONS and is_bind:
            bind["propagation"] = opt
        elif opt == "nocopy" and not is_bind:
            volume["nocopy"] = True
        else:
            raise ValueError(f"unknown volume option {opt!r} in {text!r}")
    if bind:
        mount["bind"] = bind
    if volume:
        mount["volume"] = volume
    return mount


Volumes = Annotated[list[VolumeMount], short_forms(parse_volume, input_type=list[VolumeMount | str])]


MountFlag = Literal["noexec", "nosuid", "nodev", "exec", "suid", "dev"]


class TmpfsMount(SpecModel):
    """A memory-backed filesystem at a path inside the container."""

    target: str
    """Absolute path inside the container."""
    size: Annotated[int, BeforeValidator(parse_memory, json_schema_input_type=int | str)] | None = None
    """Size limit in bytes (accepts 64m, 1Gi); null: the kernel's default, half of RAM."""
    mode: Mode | None = None
    """Permission bits of the mount's root, e.g. 1777 written as the integer 1023 or "1777"."""
    readonly: bool = False
    """Mount read-only."""
    flags: list[MountFlag] = Field(default_factory=empty_list)
    """Mount flags: noexec, nosuid, nodev (and their opposites exec, suid, dev)."""
    uid: int | None = Field(default=None, ge=0)
    """Owner of the mount's root; null: root."""
    gid: int | None = Field(default=None, ge=0)
    """Group of the mount's root; null: root."""

    @field_validator("target")
    @classmethod
    def _target(cls, value: str) -> str:
        return _absolute(value, "target")


_TMPFS_FLAGS = frozenset(("noexec", "nosuid", "nodev", "exec", "suid", "dev"))


def parse_tmpfs(text: str) -> dict[str, Any]:
    """``"/run:size=64m,mode=1777,noexec,uid=1000"`` as a long-form mapping (docker's tmpfs options)."""
    target, _, opts = text.partition(":")
    mount: dict[str, Any] = {"target": target}
    flags: list[str] = []
    for opt in filter(None, opts.split(",")):
        key, _, val = opt.partition("=")
        if key in ("size", "mode", "uid", "gid") and val:
            mount[key] = val
        elif key in ("ro", "rw") and not val:
            mount["readonly"] = key == "ro"
        elif key in _TMPFS_FLAGS and not val:
            flags.append(key)
        else:
            raise ValueError(f"unknown tmpfs option {opt!r} in {text!r}")
    if flags:
        mount["flags"] = flags
    return mount


Tmpfs = Annotated[
    list[TmpfsMount], short_forms(parse_tmpfs, input_type=list[TmpfsMount | str] | str, single=True)
]


class FileMount(SpecModel):
    """A single file placed in the container: a secret, a config or a ConfigMap key.

    Either ``content`` (carried in the spec) or ``source`` (a host file) gives the data. Files marked
    ``secret`` are written 0600 by the agent, outside the image layers, and never logged.
    """

    target: str
    """Absolute path of the file inside the container."""
    content: str | None = None
    """The file's data, in ``encoding``."""
    encoding: Literal["utf-8", "base64"] = "utf-8"
    """How ``content`` is written: utf-8 text, or base64 for binary data."""
    source: str | None = None
    """Absolute host path to copy from, instead of content."""
    mode: Mode = 0o444
    """Permission bits inside the container (default 0444, read-only for all)."""
    uid: int | None = Field(default=None, ge=0)
    """Owner inside the container; null: the container's user."""
    gid: int | None = Field(default=None, ge=0)
    """Group inside the container; null: the container's group."""
    secret: bool = False
    """Sensitive data: stored 0600 on the host and redacted from logs and status."""

    @field_validator("target")
    @classmethod
    def _target(cls, value: str) -> str:
        return _absolute(value, "target")

    @model_validator(mode="after")
    def _one_source(self) -> "FileMount":
        if (self.content is None) == (self.source is None):
            raise ValueError("a file needs exactly one of content or source")
        if self.source is not None:
            self.source = _absolute(self.source, "file source")
        return self


class DeviceMapping(SpecModel):
    """A host device made available in the container. ``{path, permissions}`` is the short form of
    a device at the same path on the host and in the container (the product document's form)."""

    host: str
    """Host device path (/dev/fuse) or a CDI name (vendor.com/class=name)."""
    container: str | None = None
    """Path inside the container; null: the same as on the host (CDI: chosen by the CDI spec)."""
    permissions: str = Field(default="rwm", pattern=r"^[rwm]{1,3}$")
    """cgroup access: r read, w write, m mknod."""

    @model_validator(mode="before")
    @classmethod
    def _path_form(cls, value: Any) -> Any:
        if isinstance(value, dict) and "path" in value:
            if "host" in value or "container" in value:
                raise mutually_exclusive("path", "host/container")
            value = dict(value)
            value["host"] = value.pop("path")
        return value


class DeviceByPath(SpecModel):
    """A device at the same path on the host and in the container: the short form of a mapping."""

    path: str
    """Device path, on the host and in the container."""
    permissions: str = Field(default="rwm", pattern=r"^[rwm]{1,3}$")
    """cgroup access: r read, w write, m mknod."""


def parse_device(text: str) -> dict[str, Any]:
    """``"/dev/a[:/dev/b[:rwm]]"`` or a CDI name as a long-form mapping."""
    if not text.startswith("/"):
        return {"host": text}
    parts = text.split(":")
    if len(parts) > 3:
        raise ValueError(f'expected "/dev/host[:/dev/container[:rwm]]", got {text!r}')
    out: dict[str, Any] = {"host": parts[0], "container": parts[1] if len(parts) > 1 else parts[0]}
    if len(parts) == 3:
        out["permissions"] = parts[2]
    elif len(parts) == 2 and not parts[1].startswith("/"):
        out = {"host": parts[0], "container": parts[0], "permissions": parts[1]}
    return out


Devices = Annotated[
    list[DeviceMapping], short_forms(parse_device, input_type=list[DeviceMapping | DeviceByPath | str])
]
