"""Stacking unpacked layers into one root filesystem made of hard links to the layers' files.

Layers are applied bottom to top, the way the OCI image spec describes a changeset: in each layer,
opaque directories first hide what lower layers put in them, then whiteouts remove single paths,
then the layer's own entries are linked in (a file or symlink replaces what was there; an explicit
directory replaces a non-directory; a directory that the layer only implies keeps the lower one).

As in :mod:`agent.store.unpacking`, the merged tree is new and private, and every path in it is in
:attr:`Merger.kinds`, so the host never resolves a symlink for us: a layer that writes or whites
out *through* a lower layer's symlink (``lib/x`` with ``lib -> usr/lib``) has the link resolved
here, inside the root, as the container would see it (umoci does the same with securejoin); one
that leads out of the root (``..`` above it) or nowhere, a path through a lower file, and an
opaque marker on a symlink are refused with an error naming the entry, where a naive ``tar -x``
would follow the link out of the root.

No file data is copied: regular files, symlinks and device nodes are hard links to the layer's
inodes. Directories are new (their children differ), with the layer's owner, mode, xattrs and
mtime. The result must only ever be used read-only; see :mod:`agent.store.deployments`.

The links themselves (20,000 for a layer of 20,000 files, each a system call that releases the
GIL) are made on :data:`LINKERS` threads while this thread goes on with the bookkeeping
(:class:`_Linking`). Every decision is still taken here, in the layer's order, on the
bookkeeping alone; a link is only *made* later, and before anything that needs what is on disk
(moving a path aside, reading a symlink, a hard link to a lower file, the directories' final
metadata, the end of a layer) every pending link is made first. The result is the same tree.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from agent.store import crashpoints
from agent.store.batching import Batches
from agent.store.limits import Limits
from agent.store.unpacking import LayerDescription, LayerError, describe


@dataclass(frozen=True)
class LayerSource:
    """One unpacked layer: its files and its description."""

    digest: str
    diff: Path
    desc: LayerDescription


LINKERS = 2
"""Threads making a merge's hard links: the two cores (20,000 links took about 0.43 s on one
thread and 0.27 s on two on this machine when idle, see benchmarks/ISSUE-14.md)."""
LINK_BATCH = 256
LINK_BATCHES = 16
"""Links handed over at once, and batches waiting at most: memory stays bounded."""


class _Linking:
    """Makes hard links on :data:`LINKERS` threads (:class:`agent.store.batching.Batches`), in the
    order of no one: the caller hands over only links whose directory exists and whose name
    nothing else will use before :meth:`flush`.

    :meth:`flush` returns once every link handed over is made, or raises the first failure (an
    ``OSError``: no space, a link limit of the host); after a failure the links still waiting are
    dropped (the tree is discarded). A failure waits for the next flush, so that the first error
    of a layer is the one reported. :meth:`close` stops the threads and always waits for them, so
    nothing writes into the tree once the merge has returned or raised."""

    def __init__(self) -> None:
        self._batches: Batches[tuple[str, str]] = Batches(
            _link, name="berth-link", threads=LINKERS, batch=LINK_BATCH, waiting=LINK_BATCHES, fail_fast=False
        )

    def link(self, src: str, dst: str) -> None:
        self._batches.add((src, dst))

    def flush(self) -> None:
        self._batches.flush()

    def close(self) -> None:
        self._batches.close()


def _link(item: tuple[str, str]) -> None:
    os.link(item[0], item[1], follow_symlinks=False)


class Merger:
    """Builds ``dest`` (an empty directory) from layers; removed paths go to ``removed``."""

    def __init__(self, dest: Path, removed: Path, limits: Limits | None = None) -> None:
        self.dest = str(dest)
        self.limits = limits or Limits.from_env()
        self.max_path = self.limits.path_limit(self.dest)
        self.removed = removed
        self.kinds: dict[str, str] = {"": "dir"}
        self.dir_source: dict[str, str] = {}
        self._removals = 0
        self._links: _Linking | None = None
        self._added = 0

    def merge(self, layers: list[LayerSource]) -> None:
        """Stack ``layers`` bottom to top, then give the directories their metadata."""
        with self.stacking():
            for layer in layers:
                self.add(layer)
            self.finish()

    @contextlib.contextmanager
    def stacking(self) -> Iterator[None]:
        """Around :meth:`add` and :meth:`finish`: the threads that make the links run inside it,
        and leaving it waits for them, whatever happened."""
        self._links = _Linking()
        try:
            yield
        finally:
            self._links.close()
            self._links = None

    def add(self, layer: LayerSource) -> None:
        """Stack ``layer`` on the ones added before (a deploy adds each as soon as it is unpacked,
        while the layers above it may still be unpacking)."""
        try:
            try:
                self._layer(layer)
            finally:  # a link of an earlier entry that failed is the first error, as it was
                self._flush()
        except LayerError as exc:
            exc.layer = exc.layer or layer.digest
            raise
        except OSError as exc:  # the host refused (no space, a limit): one line, never a traceback
            raise LayerError("", describe(exc), layer.digest) from exc
        self._added += 1
        if self._added == 1:
            crashpoints.hit("merge:mid-layer")

    def finish(self) -> None:
        """The directories' owners, modes, xattrs and times, once every layer is added."""
        try:
            self._finish_dirs()
        except OSError as exc:
            raise LayerError("", f"directory metadata: {describe(exc)}") from exc

    def _flush(self) -> None:
        """Make every pending link now: something is about to read or move what is on disk."""
        if self._links is not None:
            self._links.flush()

    def _link(self, src: str, dst: str) -> None:
        if self._links is not None:
            self._links.link(src, dst)
        else:
            os.link(src, dst, follow_symlinks=False)

    def _abs(self, path: str) -> str:
        return f"{self.dest}/{path}" if path else self.dest

    def _parent_is_ours(self, target: str, at: str) -> None:
        """Every directory above ``target`` must be a directory this merge made.

        A layer may write through a lower symlink (remembered for the rest of the layer) and then
        replace the directory it led to, for instance by a symlink to a host path: creating
        anything below the remembered path would then let the kernel follow that symlink out of
        the root. Checking the parent against :attr:`kinds` just before the write refuses it: a
        path is in :attr:`kinds` only while every directory above it is (:meth:`_remove` forgets a
        replaced directory's whole subtree), so the parent stands for all of them, and the check
        costs the same at any depth (checking every component made deep trees cubic).
        """
        raw = os.fsencode(target)
        if len(raw) > self.max_path or raw.count(b"/") >= self.limits.max_depth:
            raise LayerError(
                at,
                f"lands on {target[:60]!r}... ({len(raw)} bytes, {raw.count(b'/') + 1} levels) through a "
                f"lower symlink, beyond the limits ({self.max_path} bytes, {self.limits.max_depth} levels)",
            )
        parent = target.rpartition("/")[0]
        if self.kinds.get(parent) != "dir":
            what = self.kinds.get(parent) or "gone"
            raise LayerError(at, f"its directory {parent!r} was replaced in this layer (now {what})")

    def _remove(self, path: str) -> None:
        """Move ``path`` aside (deleted later in one batch) and forget it and its children."""
        kind = self.kinds.pop(path, None)
        if kind is None:
            return
        self._flush()
        self.removed.mkdir(exist_ok=True)
        self._removals += 1
        os.rename(self._abs(path), self.removed / str(self._removals))
        if kind == "dir":
            prefix = path + "/"
            for key in [k for k in self.kinds if k.startswith(prefix)]:
                del self.kinds[key]
                self.dir_source.pop(key, None)
            self.dir_source.pop(path, None)

    def _follow(self, path: str, at: str, explicit_dirs: frozenset[str] = frozenset()) -> str | None:
        """Where directory ``path`` is in the merged tree, following symlinks inside the root.

        A symlink is resolved the way it would be inside the container (an absolute target starts
        at the root, ``..`` climbs), so ``lib/x`` lands in ``usr/lib/x`` when ``lib -> usr/lib``,
        as umoci and tar in a chroot do. A target climbing above the root, a chain of more than 40
        links, or one that leads nowhere is refused, naming entry ``at``. None means nothing is
        there (no link followed), or a component this layer replaces by an explicit directory.
        """
        queue = path.split("/") if path else []
        current: list[str] = []
        hops = 0
        followed = ""
        while queue:
            part = queue.pop(0)
            candidate = "/".join([*current, part])
            kind = self.kinds.get(candidate)
            if kind == "dir":
                current.append(part)
                continue
            if kind is not None and not hops and candidate in explicit_dirs:
                return None  # this layer replaces it with a directory: nothing below it survives
            if kind is None:
                if hops:
                    raise LayerError(at, f"goes through {followed}, which leads to a missing directory")
                return None
            if kind != "symlink":
                raise LayerError(at, f"{kind} {candidate!r} of a lower layer is not a directory")
            hops += 1
            self._flush()
            target = os.readlink(self._abs(candidate))
            followed = f"symlink {candidate!r} -> {target!r}"
            if hops > 40:
                raise LayerError(at, f"too many levels of symbolic links at {followed}")
            base = [] if target.startswith("/") else current
            resolved = list(base)
            for item in target.split("/"):
                if item in ("", "."):
                    continue
                if item == "..":
                    if not resolved:
                        raise LayerError(at, f"goes through {followed}, which leads out of the root")
                    resolved.pop()
                else:
                    resolved.append(item)
            queue = resolved + queue
            current = []
        return "/".join(current)

    def _layer(self, layer: LayerSource) -> None:
        desc = layer.desc
        explicit_dirs = frozenset(p for p, kind, explicit in desc.entries if kind == "dir" and explicit)
        diff = str(layer.diff)
        for opaque in desc.opaque:
            at = f"{opaque}/.wh..wh..opq" if opaque else ".wh..wh..opq"
            parent, _, name = opaque.rpartition("/")
            where = self._follow(parent, at, explicit_dirs) if opaque else ""
            if where is None:
                continue
            target = f"{where}/{name}" if where and name else where or name
            kind = self.kinds.get(target)
            if kind == "symlink" and opaque not in explicit_dirs:
                raise LayerError(at, f"opaque whiteout on {self._what(target)}; refusing to follow it")
            if kind == "dir":
                prefix = target + "/" if target else ""
                children = [
                    k for k in self.kinds if k.startswith(prefix) and k and "/" not in k[len(prefix) :]
                ]
                for child in children:
                    self._remove(child)
        for whiteout in desc.whiteouts:
            parent, _, name = whiteout.rpartition("/")
            at = f"{parent}/.wh.{name}" if parent else f".wh.{name}"
            where = self._follow(parent, at, explicit_dirs)
            if where is not None:
                self._remove(f"{where}/{name}" if where else name)
        mapped: dict[str, str] = {"": ""}
        """This layer's directories -> where they are in the merged tree (symlinks followed)."""
        for path, kind, explicit in desc.entries:
            parent, _, name = path.rpartition("/")
            target = f"{mapped[parent]}/{name}" if mapped[parent] else name
            existing = self.kinds.get(target)
            src = f"{diff}/{path}"
            if kind == "dir":
                mapped[path] = target
                if existing == "dir":
                    if explicit:
                        self.dir_source[target] = src
                    continue
                if existing is not None and not explicit:
                    under = path + "/"
                    child = next(
                        (p for p, k, e in desc.entries if p.startswith(under) and (e or k != "dir")), path
                    )
                    followed = self._follow(target, child)
                    if followed is None:  # pragma: no cover - _follow raises unless it followed a link
                        raise LayerError(child, f"cannot write through {self._what(target)}")
                    mapped[path] = followed
                    continue
                if existing is not None:
                    self._remove(target)
                self._parent_is_ours(target, path)
                os.mkdir(self._abs(target), 0o700)
                self.kinds[target] = "dir"
                self.dir_source[target] = src
                continue
            if existing is not None:
                self._remove(target)
            self._parent_is_ours(target, path)
            self._link(src, self._abs(target))
            self.kinds[target] = kind
        if desc.external_links:
            self._flush()  # their sources may be links just handed over
        for path, link_target in desc.external_links:
            parent, _, name = path.rpartition("/")
            dest = f"{mapped[parent]}/{name}" if mapped[parent] else name
            target_parent, _, target_name = link_target.rpartition("/")
            where = self._follow(target_parent, path)
            source = (f"{where}/{target_name}" if where else target_name) if where is not None else None
            kind = self.kinds.get(source) if source is not None else None
            if source is None or kind is None or kind == "dir":
                what = "a directory" if kind else "missing"
                raise LayerError(path, f"hard link target {link_target!r} is {what} in the layers below")
            if self.kinds.get(dest) is not None:
                self._remove(dest)
            self._parent_is_ours(dest, path)
            self._parent_is_ours(source, path)
            os.link(self._abs(source), self._abs(dest), follow_symlinks=False)
            self.kinds[dest] = kind

    def _what(self, path: str) -> str:
        kind = self.kinds.get(path)
        if kind == "symlink":
            self._flush()
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
    copy_root_meta(layers, dest)
    return merger.kinds


def copy_root_meta(layers: list[LayerSource], dest: Path) -> None:
    """The root directory of the result is the top layer's."""
    if layers:
        copy_dir_meta(str(layers[-1].diff), str(dest))
