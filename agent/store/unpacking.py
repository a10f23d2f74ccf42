"""Unpacking one layer tarball into a fresh directory, safely and exactly.

Safety comes from bookkeeping rather than from trusting the disk: the target directory is new and
private to this call (the store lock is held), so every path that exists under it was created here
and its kind is in :attr:`LayerUnpacker.kinds`. A parent component that is not a directory we made
(a symlink, a file) stops the entry with an error naming it; the final component is created with
``O_EXCL|O_NOFOLLOW`` (or ``mkdir``/``symlink``/``link``, which never follow a final symlink), so
nothing is ever written outside the target. Paths are confined the way umoci confines them: a
leading ``/`` is dropped; unlike umoci, a ``..`` component is refused instead of being cleaned,
because no honest layer carries one. Writing through a symlink of the *same* layer is refused too
(umoci would follow it inside the root; no image builder emits it); writing through a *lower*
layer's symlink is resolved inside the root when layers are stacked (:mod:`agent.store.merging`).

OCI whiteouts (``.wh.<name>``, ``.wh..wh..opq``) are not written as files: they are recorded in the
layer's description (:class:`LayerDescription`) and applied when layers are stacked
(:mod:`agent.store.merging`). So are hard links whose target lives in a lower layer, and the
directories this layer only implies (``a/b`` without an ``a/`` entry), which must be writable
through in the merged tree but must never replace a lower layer's symlink.

Device nodes are created only when running as root (``mknod`` needs CAP_MKNOD); otherwise they are
skipped and listed in ``skipped``, as rootless podman and umoci --rootless do.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent.store import crashpoints, streams
from agent.store.tarreading import Reader, TarEntry, TarFormatError, TarReader
from translators.errors import BerthError

WH_PREFIX = ".wh."
WH_OPAQUE = ".wh..wh..opq"
_COPY = 1 << 20
_DEVICES = {0x33: "char", 0x34: "block", 0x36: "fifo"}
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class LayerError(BerthError):
    """A layer is malformed or hostile; ``entry`` names the tar entry at fault."""

    def __init__(self, entry: str, message: str) -> None:
        super().__init__(f"layer entry {entry!r}: {message}")
        self.entry = entry


@dataclass
class LayerDescription:
    """What a layer holds beyond its files: the facts merging needs, in tar order."""

    entries: list[list[Any]] = field(default_factory=list)
    """``[path, kind, explicit]`` per created path, parents first; kind is dir, file, symlink,
    char, block or fifo; explicit is False for directories only implied by a child."""
    whiteouts: list[str] = field(default_factory=list)
    opaque: list[str] = field(default_factory=list)
    external_links: list[list[str]] = field(default_factory=list)
    """``[path, target]``: hard links to a file of a lower layer."""
    skipped: list[str] = field(default_factory=list)
    """Device nodes not created because the process is not root."""
    tar_bytes: int = 0
    compression: str = "none"
    diff_id: str = ""
    """sha256 of the uncompressed tar (the image config's ``rootfs.diff_ids`` entry)."""

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LayerDescription:
        return cls(**data)


def clean_path(name: str, entry: str) -> str:
    """A tar name as a relative path inside the root; ``..`` anywhere is refused."""
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise LayerError(entry, "path leaves the root ('..' component)")
    if any("\x00" in p for p in parts):
        raise LayerError(entry, "path contains a NUL byte")
    return "/".join(parts)


class LayerUnpacker:
    """Unpacks one tar stream into ``root`` (an empty directory) and describes it."""

    def __init__(self, root: Path, *, as_root: bool | None = None) -> None:
        self.root = str(root)
        self.kinds: dict[str, str] = {"": "dir"}
        self.explicit: dict[str, int] = {}
        self.index: dict[str, list[Any]] = {}
        self.desc = LayerDescription()
        self.dir_meta: dict[str, TarEntry] = {}
        self.as_root = os.geteuid() == 0 if as_root is None else as_root

    def unpack(self, stream: Reader) -> LayerDescription:
        count = 0
        tar = TarReader(stream)
        try:
            for info in tar:
                self._entry(tar, info)
                count += 1
                if count == 2:
                    crashpoints.hit("unpack:mid-layer")
        except TarFormatError as exc:
            raise LayerError(exc.entry, str(exc)) from exc
        except streams.LayerTooLarge as exc:
            raise LayerError(tar.last, str(exc)) from exc
        self._finish_dirs()
        return self.desc

    # -- paths -----------------------------------------------------------------------------
    def _parent(self, path: str, entry: str) -> None:
        """Make sure every parent of ``path`` is a directory created here; create missing ones."""
        parent = path.rpartition("/")[0]
        if self.kinds.get(parent) == "dir":
            return
        built = ""
        for part in parent.split("/"):
            built = f"{built}/{part}" if built else part
            kind = self.kinds.get(built)
            if kind is None:
                os.mkdir(self._abs(built), 0o755)
                self.kinds[built] = "dir"
                self.index[built] = [built, "dir", False]
                self.desc.entries.append(self.index[built])
            elif kind != "dir":
                raise LayerError(
                    entry, f"parent {built!r} is a {kind}, not a directory; refusing to follow it"
                )

    def _abs(self, path: str) -> str:
        return f"{self.root}/{path}"

    # -- entries ---------------------------------------------------------------------------
    def _entry(self, tar: TarReader, info: TarEntry) -> None:
        entry = info.name
        path = clean_path(info.name, entry)
        base = path.rpartition("/")[2]
        if base.startswith(WH_PREFIX):
            self._whiteout(path, base, entry)
            return
        if path == "":
            if info.isdir():
                self.dir_meta[""] = info
                return
            raise LayerError(entry, "the root itself can only be a directory")
        existing = self.kinds.get(path)
        if existing is not None:
            if info.isdir() and existing == "dir" and path not in self.explicit:
                self.explicit[path] = 1
                self.dir_meta[path] = info
                self.index[path][2] = True
                return
            raise LayerError(entry, "duplicate entry: the path already appeared in this layer")
        self._parent(path, entry)
        full = self._abs(path)
        if info.isreg():
            self._file(tar, info, full)
            kind = "file"
        elif info.isdir():
            os.mkdir(full, 0o700)
            self.dir_meta[path] = info
            self.explicit[path] = 1
            kind = "dir"
        elif info.issym():
            os.symlink(info.linkname, full)
            self._meta(full, info, symlink=True)
            kind = "symlink"
        elif info.islnk():
            self._hardlink(info, path, full, entry)
            return
        elif info.type in _DEVICES:
            kind = _DEVICES[info.type]
            if kind != "fifo" and not self.as_root:
                self.desc.skipped.append(path)
                return
            fmt = {"char": stat.S_IFCHR, "block": stat.S_IFBLK, "fifo": stat.S_IFIFO}[kind]
            os.mknod(full, fmt | 0o600, os.makedev(info.devmajor, info.devminor))
            self._meta(full, info)
        else:
            raise LayerError(entry, f"unsupported tar entry type {chr(info.type)!r}")
        self.kinds[path] = kind
        self.desc.entries.append([path, kind, True])

    def _file(self, tar: TarReader, info: TarEntry, full: str) -> None:
        fd = os.open(full, _FLAGS, 0o600)
        try:
            while chunk := tar.read_data(_COPY):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(fd, view) :]
            self._meta(fd, info)
        finally:
            os.close(fd)

    def _hardlink(self, info: TarEntry, path: str, full: str, entry: str) -> None:
        target = clean_path(info.linkname, entry)
        if target == "":
            raise LayerError(entry, "hard link to the root directory")
        kind = self.kinds.get(target)
        if kind == "dir":
            raise LayerError(entry, f"hard link to directory {target!r}")
        if kind is None:
            # A file of a lower layer: linked when layers are merged, after the same checks there.
            self.desc.external_links.append([path, target])
            return
        # the target's parents were checked when it was created, and it is not itself followed
        os.link(self._abs(target), full, follow_symlinks=False)
        self.kinds[path] = kind
        self.desc.entries.append([path, kind, True])

    def _whiteout(self, path: str, base: str, entry: str) -> None:
        parent = path.rpartition("/")[0]
        if base == WH_OPAQUE:
            self._parent(path, entry)
            self.desc.opaque.append(parent)
            return
        name = base[len(WH_PREFIX) :]
        if name in ("", ".", "..") or name.startswith(WH_PREFIX):
            raise LayerError(entry, f"whiteout names an invalid path {name!r}")
        self._parent(path, entry)
        self.desc.whiteouts.append(f"{parent}/{name}" if parent else name)

    def _meta(self, target: int | str, info: TarEntry, *, symlink: bool = False) -> None:
        """Owner, xattrs, mode (after chown, which clears setuid) and mtime."""
        follow = not symlink
        if self.as_root:
            os.chown(target, info.uid, info.gid, follow_symlinks=follow)
        if not symlink:
            for key, value in info.xattrs:
                os.setxattr(target, key, value)
            os.chmod(target, info.mode & 0o7777)
        ns = int(info.mtime * 1_000_000_000)
        os.utime(target, ns=(ns, ns), follow_symlinks=follow)

    def _finish_dirs(self) -> None:
        """Directory metadata last, deepest first: adding children changes a directory's mtime."""
        for path in sorted(self.dir_meta, key=lambda p: p.count("/") + (1 if p else 0), reverse=True):
            self._meta(self._abs(path) if path else self.root, self.dir_meta[path])
        for path, kind in self.kinds.items():
            if kind == "dir" and path not in self.dir_meta and path:
                os.chmod(self._abs(path), 0o755)  # noqa: S103  # implied dirs get 0755, as in tar and umoci  # noqa: S103  # implied dirs get 0755, as in tar and umoci


def unpack_stream(stream: Reader, root: Path, *, as_root: bool | None = None) -> LayerDescription:
    """Unpack a plain tar stream into ``root``, which must exist and be empty."""
    return LayerUnpacker(root, as_root=as_root).unpack(stream)
