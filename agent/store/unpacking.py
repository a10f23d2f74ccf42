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

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from agent.store import crashpoints
from agent.store.limits import NAME_MAX, Limits
from agent.store.tarreading import REGULAR, Reader, TarEntry, TarReader
from translators.errors import BerthError

WH_PREFIX = ".wh."
WH_OPAQUE = ".wh..wh..opq"
_DEVICES = {0x33: "char", 0x34: "block", 0x36: "fifo"}
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
CREATE_FLAGS = _FLAGS
"""How every regular file is created: new, never through a final symlink."""


class Creator(Protocol):
    """Creates small plain files on other threads (a follower's unpack,
    :mod:`agent.store.following`): ``create`` may return before the file exists, and ``flush``
    returns once every file handed over exists, or raises the first failure."""

    max_size: int

    def create(self, path: str, mode: int, data: bytes, mtime_ns: int) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None:
        """Stop: drop what is not created yet, and return once no thread writes any more."""


_XATTR_NAMESPACES = ("user.", "trusted.", "security.", "system.")
MAX_MAJOR = (1 << 12) - 1
MAX_MINOR = (1 << 20) - 1
"""The kernel's device numbers: 12 bits of major, 20 of minor (``new_encode_dev``)."""


class LayerError(BerthError):
    """A layer is malformed or hostile; ``entry`` names the tar entry at fault, ``layer`` the blob.

    The layer digest is filled in by whoever knows it (:mod:`agent.store.layers`), so the message
    always reads ``layer sha256:...: entry 'x': what is wrong``.
    """

    def __init__(self, entry: str, message: str, layer: str = "") -> None:
        super().__init__(message)
        self.entry = entry
        self.message = message
        self.layer = layer

    def __str__(self) -> str:
        where = f"layer {self.layer}: " if self.layer else "layer "
        entry = f"entry {shown(self.entry)}: " if self.entry else ""
        return f"{where}{entry}{self.message}"


def shown(name: str) -> str:
    """A tar name quoted for a one-line message; a hostile 4,000-byte name is shortened."""
    if len(name) <= 160:
        return repr(name)
    return f"{name[:100]!r}...{name[-40:]!r} ({len(name)} characters)"


def describe(exc: BaseException) -> str:
    """One line for an unexpected error met while reading hostile data (never a traceback)."""
    if isinstance(exc, OSError):
        name = errno.errorcode.get(exc.errno or 0, "")
        text = exc.strerror or str(exc)
        if exc.errno == errno.ENAMETOOLONG:
            text = "a name or path is longer than the kernel allows"
        return f"{text} ({name})" if name else text
    if isinstance(exc, EOFError):
        return f"the compressed stream ends early ({exc})" if str(exc) else "the compressed stream ends early"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return f"{text} ({type(exc).__name__})"


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

    def __init__(
        self,
        root: Path,
        *,
        as_root: bool | None = None,
        limits: Limits | None = None,
        creator: Creator | None = None,
    ) -> None:
        self.root = str(root)
        self.creator = creator
        """Where plain files up to its ``max_size`` are created, when given (see :class:`Creator`)."""
        self.limits = limits or Limits.from_env()
        self.max_path = self.limits.path_limit(self.root)
        self.kinds: dict[str, str] = {"": "dir"}
        self.explicit: dict[str, int] = {}
        self.index: dict[str, list[Any]] = {}
        self.desc = LayerDescription()
        self.dir_meta: dict[str, TarEntry] = {}
        self.as_root = os.geteuid() == 0 if as_root is None else as_root
        self._last_head: str | None = None
        self._last_parent: tuple[str, int, int] = ("", 0, 0)
        """The previous entry's raw parent -> (clean parent, its length in bytes, its depth): tars
        list a directory's files together, so one remembered parent is enough."""
        self._owner = _new_owner(self.root) if self.as_root else None
        # Permission bits a file cannot be created with: set-id and sticky bits, the umask, and
        # 0o022, the umask the Engine's helper sets for a moment on another thread. A file whose
        # mode has none of them is created with its final mode and needs no chmod.
        self._no_chmod = 0o7000 | _umask() | 0o022

    def unpack(self, stream: Reader) -> LayerDescription:
        count = 0
        tar = TarReader(stream)
        entry = "<start of archive>"
        try:
            for info in tar:
                entry = info.name
                count += 1
                if count > self.limits.max_entries:
                    raise LayerError(
                        entry, f"more than {self.limits.max_entries} entries (BERTH_MAX_LAYER_ENTRIES)"
                    )
                self._entry(tar, info)
                entry = tar.last
                if count == 2:
                    crashpoints.hit("unpack:mid-layer")
            entry = "<end of archive>"
            if self.creator is not None:
                self.creator.flush()
            self._finish_dirs()
        except LayerError:
            raise
        except BerthError as exc:  # the tar reader's format errors, the size limit
            raise LayerError(getattr(exc, "entry", entry), str(exc)) from exc
        except Exception as exc:  # hostile input reaching the decompressor or the kernel
            raise LayerError(entry, describe(exc)) from exc
        finally:
            if self.creator is not None:
                self.creator.close()  # nothing writes into the tree once this returns
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

    def _check_path(self, path: str, entry: str) -> None:
        """Path length, name length and depth within :mod:`agent.store.limits`."""
        raw = os.fsencode(path)
        if len(raw) > self.max_path:
            raise LayerError(
                entry,
                f"path of {len(raw)} bytes is longer than {self.max_path} (BERTH_MAX_PATH_BYTES, PATH_MAX)",
            )
        depth = raw.count(b"/") + 1
        if depth > self.limits.max_depth:
            raise LayerError(
                entry, f"path is {depth} levels deep, more than {self.limits.max_depth} (BERTH_MAX_DEPTH)"
            )
        if any(len(part) > NAME_MAX for part in raw.split(b"/")):
            raise LayerError(entry, f"a name of the path is longer than {NAME_MAX} bytes (NAME_MAX)")

    # -- entries ---------------------------------------------------------------------------
    def _path(self, name: str) -> tuple[str, str, str]:
        """``name`` cleaned and within the limits, with its parent and base name.

        The parent's cleaning and limits are computed once per run of entries in the same
        directory (a layer of 20,000 files has a few hundred); an entry whose own name needs more than the cheap checks
        takes the general path, so every refusal is the same as :func:`clean_path` and
        :meth:`_check_path` give.
        """
        head, _, base = name.rpartition("/")
        if base in ("", ".", "..") or "\x00" in base:
            path = clean_path(name, name)
            self._check_path(path, name)
            parent, _, base = path.rpartition("/")
            return path, parent, base
        if head != self._last_head:
            parent = clean_path(head, name) if head else ""
            raw = os.fsencode(parent)
            length = len(raw)
            if any(len(part) > NAME_MAX for part in raw.split(b"/")):
                length = self.max_path + 1  # every child takes the general path, which refuses it
            self._last_parent = (parent, length, raw.count(b"/") + 1 if parent else 0)
            self._last_head = head
        parent, length, depth = self._last_parent
        size = len(base.encode("utf-8", "surrogateescape"))
        path = f"{parent}/{base}" if parent else base
        if (length + 1 + size if parent else size) > self.max_path or (
            depth >= self.limits.max_depth or size > NAME_MAX
        ):
            self._check_path(path, name)
        return path, parent, base

    def _entry(self, tar: TarReader, info: TarEntry) -> None:
        entry = info.name
        path, parent, base = self._path(entry)
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
        if self.kinds.get(parent) != "dir":
            self._parent(path, entry)
        full = f"{self.root}/{path}"
        if info.type in REGULAR:
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
            if not (0 <= info.devmajor <= MAX_MAJOR and 0 <= info.devminor <= MAX_MINOR):
                raise LayerError(
                    entry,
                    f"device number {info.devmajor}:{info.devminor} is out of range "
                    f"(major 0-{MAX_MAJOR}, minor 0-{MAX_MINOR})",
                )
            fmt = {"char": stat.S_IFCHR, "block": stat.S_IFBLK, "fifo": stat.S_IFIFO}[kind]
            os.mknod(full, fmt | 0o600, os.makedev(info.devmajor, info.devminor))
            self._meta(full, info)
        else:
            raise LayerError(entry, f"unsupported tar entry type {chr(info.type)!r}")
        self.kinds[path] = kind
        self.desc.entries.append([path, kind, True])

    def _file(self, tar: TarReader, info: TarEntry, full: str) -> None:
        """A regular file, with as few system calls as its metadata allows.

        Created with its final permissions when the umask cannot change them (see ``_no_chmod``)
        and owned as the entry says when we are root and the entry is ours (see
        :func:`_new_owner`): then only open, write, futimens and close remain.
        """
        perm = info.mode & 0o7777
        plain = not perm & self._no_chmod and not info.xattrs
        owned = not self.as_root or self._owner == (info.uid, info.gid)
        if plain and owned and self.creator is not None and info.size <= self.creator.max_size:
            data = tar.read_data(info.size)
            self.creator.create(full, perm, data, int(info.mtime * 1_000_000_000))
            return
        fd = os.open(full, _FLAGS, perm if plain else 0o600)
        try:
            if info.size:
                tar.copy_data(fd)
            if plain and owned:
                ns = int(info.mtime * 1_000_000_000)
                os.utime(fd, ns=(ns, ns))
            else:
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
        if self.creator is not None:
            self.creator.flush()  # the target may be a file still being created
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
                if not key.startswith(_XATTR_NAMESPACES) or key in _XATTR_NAMESPACES:
                    raise LayerError(
                        info.name,
                        f"xattr {key[:80]!r} is not in a namespace Linux knows ({', '.join(_XATTR_NAMESPACES)})",
                    )
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
                os.chmod(self._abs(path), 0o755)  # noqa: S103  # implied dirs get 0755, as in tar and umoci


def _umask() -> int:
    """The process's umask, read without changing it (``os.umask`` sets it, racing other
    threads); 0o777 (never trust the creation mode) when the kernel does not show it."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o777


def _new_owner(root: str) -> tuple[int, int] | None:
    """The owner a file created under ``root`` gets without chown, if we can be sure of it.

    Every directory below ``root`` is made here without the setgid bit (directory modes are set
    at the end), so a new file takes our uid and either our gid or, under a setgid ``root``,
    root's: when root is ours in both, that is ours. None: always chown.
    """
    st = os.stat(root)
    if st.st_uid != os.geteuid() or st.st_gid != os.getegid():
        return None
    return st.st_uid, st.st_gid


def unpack_stream(
    stream: Reader,
    root: Path,
    *,
    as_root: bool | None = None,
    limits: Limits | None = None,
    creator: Creator | None = None,
) -> LayerDescription:
    """Unpack a plain tar stream into ``root``, which must exist and be empty."""
    return LayerUnpacker(root, as_root=as_root, limits=limits, creator=creator).unpack(stream)
