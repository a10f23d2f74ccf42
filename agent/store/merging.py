"""Stacking unpacked layers into one root filesystem made of hard links to the layers' files.

Layers are applied bottom to top, the way the OCI image spec describes a changeset: in each layer,
opaque directories first hide what lower layers put in them, then whiteouts remove single paths,
then the layer's own entries are linked in (a file or symlink replaces what was there; an explicit
directory replaces a non-directory; a directory that the layer only implies keeps the lower one).

As in :mod:`agent.store.unpacking`, the merged tree is new and private, and every path in it is in
:attr:`Merger.kinds`, so no symlink is ever followed: a layer that would write, white out or make
opaque *through* a lower layer's symlink (or file) is refused with an error naming the entry, where
a naive ``tar -x`` would follow the link out of the root.

No file data is copied: regular files, symlinks and device nodes are hard links to the layer's
inodes. Directories are new (their children differ), with the layer's owner, mode, xattrs and
mtime. The result must only ever be used read-only; see :mod:`agent.store.deployments`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from agent.store import crashpoints
from agent.store.unpacking import LayerDescription, LayerError


@dataclass(frozen=True)
class LayerSource:
    """One unpacked layer: its files and its description."""

    digest: str
    diff: Path
    desc: LayerDescription


class Merger:
    """Builds ``dest`` (an empty directory) from layers; removed paths go to ``removed``."""

    def __init__(self, dest: Path, removed: Path) -> None:
        self.dest = str(dest)
        self.removed = removed
        self.kinds: dict[str, str] = {"": "dir"}
        self.dir_source: dict[str, str] = {}
        self._removals = 0

    def merge(self, layers: list[LayerSource]) -> None:
        for i, layer in enumerate(layers):
            self._layer(layer)
            if i == 0:
                crashpoints.hit("merge:mid-layer")
        self._finish_dirs()

    def _abs(self, path: str) -> str:
        return f"{self.dest}/{path}" if path else self.dest

    def _remove(self, path: str) -> None:
        """Move ``path`` aside (deleted later in one batch) and forget it and its children."""
        kind = self.kinds.pop(path, None)
        if kind is None:
            return
        self.removed.mkdir(exist_ok=True)
        self._removals += 1
        os.rename(self._abs(path), self.removed / str(self._removals))
        if kind == "dir":
            prefix = path + "/"
            for key in [k for k in self.kinds if k.startswith(prefix)]:
                del self.kinds[key]
                self.dir_source.pop(key, None)
            self.dir_source.pop(path, None)

    def _blocked(self, path: str, explicit_dirs: set[str]) -> str | None:
        """The first component of ``path`` (itself included) that is a non-directory below, or None.

        A component that this layer replaces with an explicit directory does not block.
        """
        built = ""
        for part in path.split("/"):
            built = f"{built}/{part}" if built else part
            kind = self.kinds.get(built)
            if kind is None:
                return None
            if kind != "dir" and built not in explicit_dirs:
                return built
            if kind != "dir":
                return None
        return None

    def _layer(self, layer: LayerSource) -> None:
        desc = layer.desc
        explicit_dirs = {p for p, kind, explicit in desc.entries if kind == "dir" and explicit}
        diff = str(layer.diff)
        for opaque in desc.opaque:
            at = f"{opaque}/.wh..wh..opq" if opaque else ".wh..wh..opq"
            blocked = self._blocked(opaque, explicit_dirs) if opaque else None
            if blocked is not None:
                raise LayerError(at, f"opaque whiteout through {self._what(blocked)}; refusing to follow it")
            if self.kinds.get(opaque) == "dir":
                prefix = opaque + "/" if opaque else ""
                children = [
                    k for k in self.kinds if k.startswith(prefix) and k and "/" not in k[len(prefix) :]
                ]
                for child in children:
                    self._remove(child)
        for whiteout in desc.whiteouts:
            parent, _, name = whiteout.rpartition("/")
            at = f"{parent}/.wh.{name}" if parent else f".wh.{name}"
            blocked = self._blocked(parent, explicit_dirs) if parent else None
            if blocked is not None:
                raise LayerError(at, f"whiteout through {self._what(blocked)}; refusing to follow it")
            if self.kinds.get(parent) == "dir":
                self._remove(whiteout)
        for path, kind, explicit in desc.entries:
            existing = self.kinds.get(path)
            src = f"{diff}/{path}"
            if kind == "dir":
                if existing == "dir":
                    if explicit:
                        self.dir_source[path] = src
                    continue
                if existing is not None:
                    if not explicit:
                        under = path + "/"
                        child = next(
                            (p for p, k, e in desc.entries if p.startswith(under) and (e or k != "dir")), path
                        )
                        raise LayerError(child, f"writes through {self._what(path)}; refusing to follow it")
                    self._remove(path)
                os.mkdir(self._abs(path), 0o700)
                self.kinds[path] = "dir"
                self.dir_source[path] = src
                continue
            if existing is not None:
                self._remove(path)
            os.link(src, self._abs(path), follow_symlinks=False)
            self.kinds[path] = kind
        for path, target in desc.external_links:
            kind = self.kinds.get(target)
            if kind is None or kind == "dir":
                what = "a directory" if kind else "missing"
                raise LayerError(path, f"hard link target {target!r} is {what} in the layers below")
            if self.kinds.get(path) is not None:
                self._remove(path)
            os.link(self._abs(target), self._abs(path), follow_symlinks=False)
            self.kinds[path] = kind

    def _what(self, path: str) -> str:
        kind = self.kinds.get(path)
        if kind == "symlink":
            return f"symlink {path!r} (-> {os.readlink(self._abs(path))!r}) of a lower layer"
        return f"{kind} {path!r} of a lower layer"

    def _finish_dirs(self) -> None:
        order = sorted(self.dir_source, key=lambda p: p.count("/"), reverse=True)
        for path in order:
            copy_dir_meta(self.dir_source[path], self._abs(path))


def copy_dir_meta(src: str, dst: str) -> None:
    """Owner, mode, xattrs and times of directory ``src`` onto ``dst``."""
    st = os.lstat(src)
    if os.geteuid() == 0:
        os.chown(dst, st.st_uid, st.st_gid)
    for key in os.listxattr(src):
        os.setxattr(dst, key, os.getxattr(src, key))
    os.chmod(dst, st.st_mode & 0o7777)
    os.utime(dst, ns=(st.st_atime_ns, st.st_mtime_ns))


def merge_layers(layers: list[LayerSource], dest: Path, removed: Path) -> dict[str, str]:
    """Flatten ``layers`` into ``dest``; returns the kind of every path of the result."""
    merger = Merger(dest, removed)
    merger.merge(layers)
    root_source = next((f"{layer.diff}" for layer in reversed(layers)), None)
    if root_source is not None:
        copy_dir_meta(root_source, str(dest))
    return merger.kinds
